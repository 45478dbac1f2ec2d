import Foundation
import Testing

@testable import ResticManagerCore

/// Parses the RFC 3339 timestamps used in the test tables (offset required,
/// fractional seconds optional).
func instant(_ text: String) throws -> Date {
    let style =
        text.contains(".")
        ? Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        : Date.ISO8601FormatStyle()
    return try Date(text, strategy: style)
}

func zone(_ identifier: String) throws -> TimeZone {
    try #require(TimeZone(identifier: identifier), "tzdata lacks \(identifier)")
}

/// Renders `date` on the wall clock of `timeZone`, e.g.
/// `2025-03-30T03:00:00+02:00`, so failures read like the tables.
func wallClockText(_ date: Date, in timeZone: TimeZone) -> String {
    let offset = timeZone.secondsFromGMT(for: date)
    let sign = offset < 0 ? "-" : "+"
    let hours = abs(offset) / 3600
    let minutes = abs(offset) % 3600 / 60
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
    return String(format: "%04d", parts.year ?? 0) + "-\(two(parts.month))-\(two(parts.day))T"
        + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))\(sign)\(two(hours)):\(two(minutes))"
}
