import PostgresNIO

/// What PostgreSQL said, in words for an operator. `PSQLError`'s own
/// description is deliberately vague ("Generic description to prevent
/// accidental leakage"); the server's message and SQLSTATE say what to fix,
/// and neither carries the password.
enum PostgresFailure {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "unknown"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
