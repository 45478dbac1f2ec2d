import GRDB

/// Inserts, updates and reads by id, written out as SQL both engines run, so
/// records keep GRDB's encoding (snake_case columns, dates as text, JSON for
/// nested values) on either engine.
extension StoreTransaction {
    /// A NULL `id` is left out, so that the table numbers the row itself
    /// (SQLite's rowid alias, PostgreSQL's identity column).
    func insert<Record: EncodableRecord & TableRecord>(_ record: Record, ifAbsent: Bool = false) throws {
        let columns = try record.databaseDictionary.filter { $0.key != "id" || !$0.value.isNull }.sorted { $0.key < $1.key }
        let names = columns.map(\.key).joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        try execute(
            "INSERT INTO \(Record.databaseTableName) (\(names)) VALUES (\(placeholders))"
                + (ifAbsent ? " ON CONFLICT DO NOTHING" : ""),
            StoreArguments(values: columns.map(\.value)))
    }

    /// Updates every column of the row with the record's id; returns whether
    /// there was such a row.
    @discardableResult
    func update<Record: IdentifiedRecord>(_ record: Record) throws -> Bool {
        let columns = try record.databaseDictionary.sorted { $0.key < $1.key }
        guard let id = columns.first(where: { $0.key == "id" })?.value else {
            throw StoreError.invalid("\(Record.databaseTableName) has no id to update by")
        }
        let others = columns.filter { $0.key != "id" }
        let assignments = others.map { "\($0.key) = ?" }.joined(separator: ", ")
        return try execute(
            "UPDATE \(Record.databaseTableName) SET \(assignments) WHERE id = ?",
            StoreArguments(values: others.map(\.value) + [id])) > 0
    }

    /// Inserts the record, or replaces every column of the row with its id.
    func save<Record: IdentifiedRecord>(_ record: Record) throws {
        if try !update(record) { try insert(record) }
    }

    func fetchOne<Record: IdentifiedRecord>(_ type: Record.Type, id: some DatabaseValueConvertible) throws -> Record? {
        try fetchOne(Record.self, "SELECT * FROM \(Record.databaseTableName) WHERE id = ?", [id])
    }

    func exists<Record: IdentifiedRecord>(_ type: Record.Type, id: some DatabaseValueConvertible) throws -> Bool {
        try value(Int.self, "SELECT 1 FROM \(Record.databaseTableName) WHERE id = ?", [id]) != nil
    }

    @discardableResult
    func delete<Record: IdentifiedRecord>(_ type: Record.Type, id: some DatabaseValueConvertible) throws -> Bool {
        try execute("DELETE FROM \(Record.databaseTableName) WHERE id = ?", [id]) > 0
    }
}
