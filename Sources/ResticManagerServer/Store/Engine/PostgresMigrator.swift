import Foundation

/// Brings a PostgreSQL database to the newest schema: `PostgresMigrations`
/// in order, each applied once, recorded in `schema_migrations`.
///
/// Replicas that start together take turns on an advisory lock, and read
/// what was applied only once they hold it (READ COMMITTED, so they see the
/// migrations the replica before them committed).
enum PostgresMigrator {
    /// The advisory lock key of schema migrations ("rm-schema" as bytes).
    static let lockKey: Int64 = 0x726D_2D73_6368_656D

    static func migrate(_ engine: PostgresEngine) async throws {
        try await engine.migrationTransaction { tx in
            _ = try tx.rows("SELECT pg_advisory_xact_lock(?)", [lockKey])
            try tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            let applied = Set(try tx.values(String.self, "SELECT identifier FROM schema_migrations"))
            let known = Set(PostgresMigrations.all.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw StoreError.invalid(
                    "the database has migration \(unknown), which this release does not know: "
                        + "it was made by a newer restic-manager; run that release or newer")
            }
            for migration in PostgresMigrations.all where !applied.contains(migration.name) {
                for statement in PostgresSQL.statements(migration.sql) { try tx.execute(statement) }
                try tx.execute(
                    "INSERT INTO schema_migrations (identifier, applied_at) VALUES (?, ?)", [migration.name, Date()])
            }
        }
    }
}
