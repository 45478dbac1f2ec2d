import GRDB

/// A WHERE clause grown from optional filters, its arguments kept in the
/// order of its placeholders.
struct SQLConditions {
    private(set) var clauses: [String] = []
    private(set) var arguments: StoreArguments = []

    init(_ clause: String? = nil, _ arguments: StoreArguments = []) {
        if let clause { add(clause, arguments) }
    }

    mutating func add(_ clause: String, _ arguments: StoreArguments = []) {
        clauses.append(clause)
        self.arguments = self.arguments + arguments
    }

    /// `WHERE a AND b`, or nothing when there is no condition.
    var sql: String { clauses.isEmpty ? "" : "WHERE " + clauses.map { "(\($0))" }.joined(separator: " AND ") }
}
