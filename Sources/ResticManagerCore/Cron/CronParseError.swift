/// Why a cron expression was rejected.
///
/// `reason` names the offending field and the problem (for example
/// `minute: 61 is out of range 0-59`), so the API can hand it straight to
/// the person who typed the expression.
public struct CronParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, prefixed by the field it concerns when there is one.
    public let reason: String

    /// Creates an error with the given reason.
    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "invalid cron expression: \(reason)" }
}
