import GRDB

/// The SQL a transaction speaks, for the few statements the two engines
/// cannot share (SPEC §12: one store, two engines).
public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// One transaction on either engine. Every store method is written once,
/// synchronously, against this: SQL with `?` placeholders that both engines
/// accept, and rows as GRDB `Row` values so records decode the same way on
/// both (docs/postgresql.md, "The store's shape with two engines").
public protocol StoreTransaction {
    var dialect: SQLDialect { get }

    /// Runs one statement and returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: StoreArguments) throws -> Int

    /// Every row `sql` selects, by column name. A row's columns are known by
    /// name only: the PostgreSQL engine does not keep their order.
    func rows(_ sql: String, _ arguments: StoreArguments) throws -> [Row]

    /// Inserts the rows, skipping those whose key is taken; returns, row by
    /// row, whether it was inserted.
    func insert(_ bulk: BulkInsert) throws -> [Bool]

    /// Runs `body` in a savepoint: if it throws, nothing it wrote stays.
    func savepoint<T>(_ body: () throws -> T) throws -> T
}

extension StoreTransaction {
    @discardableResult
    func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    func rows(_ sql: String) throws -> [Row] { try rows(sql, []) }

    func row(_ sql: String, _ arguments: StoreArguments = []) throws -> Row? {
        try rows(sql, arguments).first
    }

    func fetchAll<Record: FetchableRecord>(
        _ type: Record.Type, _ sql: String, _ arguments: StoreArguments = []
    ) throws -> [Record] {
        try rows(sql, arguments).map { try Record(row: $0) }
    }

    func fetchOne<Record: FetchableRecord>(
        _ type: Record.Type, _ sql: String, _ arguments: StoreArguments = []
    ) throws -> Record? {
        try row(sql, arguments).map { try Record(row: $0) }
    }

    /// The single column of the first row, or nil when there is no row or
    /// the value is NULL. `sql` must select exactly one column.
    func value<Value: DatabaseValueConvertible>(
        _ type: Value.Type, _ sql: String, _ arguments: StoreArguments = []
    ) throws -> Value? {
        guard let row = try row(sql, arguments) else { return nil }
        return try onlyColumn(of: row, sql)
    }

    /// The single column of every row, NULLs left out.
    func values<Value: DatabaseValueConvertible>(
        _ type: Value.Type, _ sql: String, _ arguments: StoreArguments = []
    ) throws -> [Value] {
        try rows(sql, arguments).compactMap { try onlyColumn(of: $0, sql) }
    }

    func count(_ sql: String, _ arguments: StoreArguments = []) throws -> Int {
        try value(Int.self, sql, arguments) ?? 0
    }

    private func onlyColumn<Value: DatabaseValueConvertible>(of row: Row, _ sql: String) throws -> Value? {
        guard row.count == 1 else {
            throw StoreError.invalid("a single-value query selected \(row.count) columns: \(sql.prefix(80))")
        }
        let value = row.databaseValues.first ?? .null
        if value.isNull { return nil }
        guard let converted = Value.fromDatabaseValue(value) else {
            throw StoreError.invalid("a query's value is not a \(Value.self): \(sql.prefix(80))")
        }
        return converted
    }
}
