import GRDB

/// Rows for one table written in one go, each skipped if its key is taken.
///
/// The one write whose SQL differs between the engines (docs/postgresql.md):
/// SQLite runs a prepared `INSERT` per row, its fastest shape, and PostgreSQL
/// one `INSERT … SELECT FROM unnest(…)` per batch, because there each
/// statement is a round trip and one per log line would cost ten times the
/// ingest rate.
public struct BulkInsert {
    /// What PostgreSQL's arrays are declared as; values are never NULL.
    public enum ColumnType: String, Sendable {
        case text
        case bigint
    }

    let table: String
    let columns: [(name: String, type: ColumnType)]
    /// The columns, by index, of the unique key that makes a row a duplicate.
    let key: [Int]
    private(set) var rows: [[DatabaseValue]] = []

    init(table: String, columns: [(name: String, type: ColumnType)], key: [Int]) {
        self.table = table
        self.columns = columns
        self.key = key
    }

    mutating func append(_ row: [DatabaseValue]) {
        rows.append(row)
    }

    var columnList: String { columns.map(\.name).joined(separator: ", ") }

    /// Whether each row was inserted, from the keys of the rows that were:
    /// of two rows with one key in the same batch, only the first.
    func inserted(keys: [[DatabaseValue]]) -> [Bool] {
        var remaining = Set(keys)
        return rows.map { row in remaining.remove(key.map { row[$0] }) != nil }
    }
}
