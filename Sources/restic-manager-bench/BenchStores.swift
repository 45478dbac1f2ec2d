import Foundation
import ResticManagerServer

/// The store engine a measurement ran on, for the tables.
enum Engine: String, Sendable, CaseIterable {
    case sqlite = "SQLite"
    case postgres = "PostgreSQL"
}

extension StoreLocation {
    var engine: Engine { postgres == nil ? .sqlite : .postgres }

    /// The server's SQLite file in the data dir (unused with PostgreSQL).
    var sqlitePath: String { dataDirectory + "/restic-manager.sqlite" }
}

/// Where one engine's measurements get a fresh, empty store each: a new
/// data dir (SQLite file and `secret.key`), and with PostgreSQL also a new
/// database on the `--database` server.
struct FreshStores {
    let workDirectory: URL
    let postgres: PostgresServer?

    var engine: Engine { postgres == nil ? .sqlite : .postgres }

    /// One store per engine: SQLite's, then PostgreSQL's when `--database` was given.
    static func perEngine(in workDirectory: URL, postgres: PostgresServer?) -> [FreshStores] {
        [FreshStores(workDirectory: workDirectory, postgres: nil)]
            + (postgres.map { [FreshStores(workDirectory: workDirectory, postgres: $0)] } ?? [])
    }

    /// Runs `body` on a new store named after `label` (letters, digits and `_`).
    func withStore<Result>(_ label: String, _ body: (StoreLocation) async throws -> Result) async throws -> Result {
        let dataDirectory = workDirectory.appendingPathComponent("\(engine.rawValue.lowercased())-\(label)").path
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard let postgres else { return try await body(StoreLocation(dataDirectory: dataDirectory)) }
        return try await postgres.withFreshDatabase(label) { url in
            try await body(StoreLocation(dataDirectory: dataDirectory, postgres: url))
        }
    }
}
