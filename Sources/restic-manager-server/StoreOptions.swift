import ArgumentParser
import Foundation
import ResticManagerServer

/// `--data-dir` and `--database`, the same on every subcommand that opens
/// the store (SPEC §12).
struct StoreOptions: ParsableArguments {
    @Option(help: "Directory for the secret key, and for the SQLite database unless --database is given.")
    var dataDir: String = "./data"

    @Option(help: ArgumentHelp(
        "Store everything in this PostgreSQL database instead of SQLite in the data dir; replicas share it. "
            + "Give the password with PGPASSWORD or --database-password-file, not in the URL.",
        valueName: "postgres://user@host[:port]/database[?sslmode=disable|prefer|require]"))
    var database: String?

    @Option(help: "File whose first line is the PostgreSQL password (wins over PGPASSWORD and the URL).")
    var databasePasswordFile: String?

    func validate() throws {
        if databasePasswordFile != nil, database == nil {
            throw ValidationError("--database-password-file goes with --database")
        }
        _ = try location()
    }

    /// The store these flags name. The password is read here, once, and is
    /// never part of an error or a log line.
    func location() throws -> StoreLocation {
        guard let database else { return StoreLocation(dataDirectory: dataDir) }
        do {
            return StoreLocation(dataDirectory: dataDir, postgres: try PostgresURL(database, password: try password()))
        } catch let error as StoreError {
            throw ValidationError(error.description)
        }
    }

    private func password() throws -> String? {
        if let databasePasswordFile {
            guard let text = try? String(contentsOfFile: databasePasswordFile, encoding: .utf8) else {
                throw ValidationError("--database-password-file \(databasePasswordFile) is not a readable text file")
            }
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.isEmpty else {
                throw ValidationError("--database-password-file \(databasePasswordFile) is empty; its first line is the password")
            }
            return line
        }
        return ProcessInfo.processInfo.environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
