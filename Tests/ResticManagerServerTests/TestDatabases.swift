import Foundation
import Logging
import PostgresNIO

@testable import ResticManagerServer

/// The engine the store tests run on.
///
/// In-memory SQLite by default. `scripts/test` runs the server tests a
/// second time with `RM_TEST_POSTGRES` set to the URL of a scratch
/// PostgreSQL server (`scripts/scratch-postgres`); then every test gets a
/// fresh database of its own there, so the same tests hold both engines to
/// the same behaviour.
enum TestEngine {
    static let postgresServer = ProcessInfo.processInfo.environment["RM_TEST_POSTGRES"]

    static var isPostgres: Bool { postgresServer != nil }
}

extension AppDatabase {
    static func forTest() async throws -> AppDatabase {
        guard let url = try await freshPostgresDatabase() else { return try .inMemory() }
        return try await AppDatabase.connect(url, logger: Logger(label: "test"))
    }

    /// A new, empty database on the `RM_TEST_POSTGRES` server (not migrated),
    /// or nil when the tests run on SQLite only.
    static func freshPostgresDatabase() async throws -> PostgresURL? {
        guard let server = TestEngine.postgresServer else { return nil }
        var url = try PostgresURL(server)
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await createPostgresDatabase(name, on: url)
        url.database = name
        return url
    }

    /// CREATE DATABASE runs outside a transaction, on a connection of its own.
    private static func createPostgresDatabase(_ name: String, on url: PostgresURL) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: try url.connectionConfiguration(), id: 0, logger: Logger(label: "test"))
        do {
            try await connection.query("CREATE DATABASE \(unescaped: name)", logger: Logger(label: "test"))
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
