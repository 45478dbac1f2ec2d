import GRDB

/// The embedded engine: a GRDB pool (or an in-memory queue in tests) on one
/// SQLite file, one writer, concurrent readers.
struct SQLiteEngine: StoreEngine {
    let writer: any DatabaseWriter

    var dialect: SQLDialect { .sqlite }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try body(SQLiteTransaction(db: db)) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(SQLiteTransaction(db: db)) }
    }
}

/// A GRDB transaction seen through `StoreTransaction`. Every statement is
/// cached on its connection: the store's SQL is a fixed set of strings, and
/// the ingest path runs the same few thousands of times a second.
struct SQLiteTransaction: StoreTransaction {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ arguments: StoreArguments) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: arguments.statementArguments)
        return db.changesCount
    }

    func rows(_ sql: String, _ arguments: StoreArguments) throws -> [Row] {
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments.statementArguments)
    }

    func insert(_ bulk: BulkInsert) throws -> [Bool] {
        let placeholders = Array(repeating: "?", count: bulk.columns.count).joined(separator: ", ")
        let statement = try db.cachedStatement(
            sql: "INSERT INTO \(bulk.table) (\(bulk.columnList)) VALUES (\(placeholders)) ON CONFLICT DO NOTHING")
        return try bulk.rows.map { row in
            try statement.execute(arguments: StatementArguments(row))
            return db.changesCount > 0
        }
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        try db.inSavepoint {
            result = try body()
            return .commit
        }
        guard let result else { throw StoreError.invalid("a savepoint ended without running its body") }
        return result
    }
}
