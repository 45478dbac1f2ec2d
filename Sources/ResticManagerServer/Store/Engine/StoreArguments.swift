import GRDB

/// The values bound to a statement's `?` placeholders, in order.
///
/// GRDB's `StatementArguments` keeps its values to itself; the PostgreSQL
/// engine needs them to bind `$1…$n`, so the store passes its own list that
/// either engine can read.
public struct StoreArguments: Sendable, ExpressibleByArrayLiteral {
    public let values: [DatabaseValue]

    public init(arrayLiteral elements: (any DatabaseValueConvertible)?...) {
        values = elements.map { $0?.databaseValue ?? .null }
    }

    public init(_ elements: [(any DatabaseValueConvertible)?]) {
        values = elements.map { $0?.databaseValue ?? .null }
    }

    init(values: [DatabaseValue]) {
        self.values = values
    }

    static func + (lhs: StoreArguments, rhs: StoreArguments) -> StoreArguments {
        StoreArguments(values: lhs.values + rhs.values)
    }

    var statementArguments: StatementArguments { StatementArguments(values) }
}
