import Foundation
import ResticManagerProtocol

/// How pages write times, sizes and durations. Times are shown in UTC with
/// the exact instant in `<time datetime>`, which `app.js` turns into the
/// reader's local time.
enum WebFormat {
    /// "2026-11-29 05:31 UTC"
    static func timestamp(_ date: Date?) -> String {
        guard let date else { return "—" }
        let text = RFC3339.format(date)
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }

    /// RFC 3339 for `<time datetime>`.
    static func machine(_ date: Date?) -> String {
        date.map { RFC3339.format($0) } ?? ""
    }

    /// "5 min ago", "in 3 h", "never".
    static func relative(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "never" }
        let seconds = date.timeIntervalSince(now)
        let span = span(abs(seconds))
        if abs(seconds) < 45 { return seconds < 0 ? "just now" : "in a moment" }
        return seconds < 0 ? "\(span) ago" : "in \(span)"
    }

    /// "45 s", "12 min", "3 h", "4 d".
    static func span(_ seconds: Double) -> String {
        switch seconds {
        case ..<60: "\(Int(seconds)) s"
        case ..<3600: "\(Int(seconds / 60)) min"
        case ..<(2 * 86400): "\(Int(seconds / 3600)) h"
        default: "\(Int(seconds / 86400)) d"
        }
    }

    /// "1 m 05 s" for job durations.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total) s" }
        if total < 3600 { return "\(total / 60) m \(String(format: "%02d", total % 60)) s" }
        return "\(total / 3600) h \(String(format: "%02d", (total % 3600) / 60)) m"
    }

    /// Binary units, as restic prints them: "1.4 GiB".
    static func bytes(_ value: Int64?) -> String {
        guard let value else { return "—" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var size = Double(value)
        var unit = 0
        while size >= 1024, unit < units.count - 1 {
            size /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: size < 10 ? "%.1f %@" : "%.0f %@", size, units[unit])
    }

    static func count(_ value: Int64) -> String {
        value.formatted(.number.grouping(.automatic))
    }
}
