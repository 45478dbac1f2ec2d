import Foundation
import Logging

/// Where the server keeps its state (SPEC §12): the data dir always holds
/// `secret.key`; the database is SQLite in the data dir unless `postgres`
/// names a PostgreSQL database, which several replicas can share.
public struct StoreLocation: Sendable {
    public var dataDirectory: String
    public var postgres: PostgresURL?

    public init(dataDirectory: String, postgres: PostgresURL? = nil) {
        self.dataDirectory = dataDirectory
        self.postgres = postgres
    }
}

extension DataDirectory {
    /// The database of `location`, migrated: the SQLite file here, or the
    /// PostgreSQL database it names.
    func openStore(postgres: PostgresURL?, logger: Logger) async throws -> AppDatabase {
        guard let postgres else { return try openDatabase() }
        do {
            return try await AppDatabase.connect(postgres, logger: logger)
        } catch let error as StoreError {
            throw error
        } catch {
            throw ServerStartError.database(url: postgres.description, reason: PostgresFailure.describe(error))
        }
    }
}
