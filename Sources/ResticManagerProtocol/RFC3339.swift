import Foundation

/// RFC 3339 timestamps as Go writes and reads them.
///
/// Hand-written instead of `DateFormatter`/`ISO8601FormatStyle` because the
/// wire needs things those do not give cheaply: fractions of any length
/// (Go sends up to nine digits), any UTC offset, lowercase `t`/`z`, and
/// output like Go's `RFC3339Nano` (UTC, `Z`, no trailing zeros). Parsing
/// runs for every log line the server ingests, so it allocates nothing.
///
/// Precision: `Date` is a `Double` of seconds since 2001 and holds about
/// 0.1 µs today, so nanosecond digits do not survive a round trip through
/// `Date`. ``format(_:)`` writes the fewest digits (at most nine) that parse
/// back to exactly the same `Date`, so `parse(format(d)) == d` always holds.
public enum RFC3339 {
    /// Go's zero `time.Time`, `0001-01-01T00:00:00Z`. On the wire it means
    /// "absent": optional time fields decode it as nil and encode nil as it.
    public static let goZeroTime = Date(timeIntervalSinceReferenceDate: Double(goZeroSeconds))

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`. Accepts any
    /// number of fractional digits (beyond nine they are truncated, as Go
    /// does) and lowercase `t` and `z`. Returns nil for anything else,
    /// including out-of-range fields (month 13, 30 February, second 60).
    public static func parse(_ string: String) -> Date? {
        if let result = string.utf8.withContiguousStorageIfAvailable({ parse(utf8: $0) }) {
            return result
        }
        return Array(string.utf8).withUnsafeBufferPointer { parse(utf8: $0) }
    }

    /// Formats in UTC with `Z`, like Go's `time.RFC3339Nano`. Dates outside
    /// the years 0000–9999 are clamped to that range (Go refuses to encode
    /// them); NaN formats as the zero time.
    public static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Internals

    /// Seconds from 1970-01-01 to 2001-01-01, Foundation's reference date.
    private static let unixToReference: Int64 = 978_307_200
    private static let goZeroSeconds: Int64 = daysFromCivil(year: 1, month: 1, day: 1) * 86_400 - unixToReference
    private static let minSeconds: Int64 = daysFromCivil(year: 0, month: 1, day: 1) * 86_400 - unixToReference
    private static let maxSeconds: Int64 = daysFromCivil(year: 10_000, month: 1, day: 1) * 86_400 - unixToReference - 1

    /// The one place seconds and nanoseconds become a `Date`; parse and
    /// format share it so that format can check its rounding exactly.
    private static func makeInterval(seconds: Int64, nanoseconds: Int64) -> Double {
        Double(seconds) + Double(nanoseconds) / 1e9
    }

    static func parse(utf8 s: UnsafeBufferPointer<UInt8>) -> Date? {
        // Shortest valid form: 2006-01-02T15:04:05Z (20 bytes).
        guard s.count >= 20 else { return nil }
        guard let year = digits(s, 0, 4), s[4] == UInt8(ascii: "-"),
            let month = digits(s, 5, 2), s[7] == UInt8(ascii: "-"),
            let day = digits(s, 8, 2), s[10] | 0x20 == UInt8(ascii: "t"),
            let hour = digits(s, 11, 2), s[13] == UInt8(ascii: ":"),
            let minute = digits(s, 14, 2), s[16] == UInt8(ascii: ":"),
            let second = digits(s, 17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 60
        else { return nil }

        var index = 19
        var nanoseconds: Int64 = 0
        if s[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            var scale: Int64 = 100_000_000
            while index < s.count, JSONSpanScanner.isDigit(s[index]) {
                nanoseconds += Int64(s[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > fractionStart else { return nil }
        }

        guard index < s.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch s[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard s.count - index >= 6, let offsetHour = digits(s, index + 1, 2), s[index + 3] == UInt8(ascii: ":"),
                let offsetMinute = digits(s, index + 4, 2), offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (s[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == s.count else { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let unixSeconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(
            timeIntervalSinceReferenceDate: makeInterval(
                seconds: unixSeconds - unixToReference,
                nanoseconds: nanoseconds
            )
        )
    }

    static func append(_ date: Date, to bytes: inout [UInt8]) {
        var interval = date.timeIntervalSinceReferenceDate
        if interval.isNaN { interval = Double(goZeroSeconds) }
        interval = min(max(interval, Double(minSeconds)), Double(maxSeconds))

        let whole = interval.rounded(.down)
        var seconds = Int64(whole)
        // Exact: `interval` and `whole` share an exponent range.
        let nanosApprox = (interval - whole) * 1e9
        var nanoseconds: Int64 = 0
        var fractionDigits = 0
        // Fewest digits whose value parses back to this very Date.
        for digitCount in 0...9 {
            let unit = pow10[9 - digitCount]
            var candidate = Int64((nanosApprox / Double(unit)).rounded()) * unit
            var candidateSeconds = seconds
            if candidate >= 1_000_000_000 {
                candidate -= 1_000_000_000
                candidateSeconds += 1
            }
            if makeInterval(seconds: candidateSeconds, nanoseconds: candidate) == interval || digitCount == 9 {
                seconds = candidateSeconds
                nanoseconds = candidate
                fractionDigits = digitCount
                break
            }
        }

        let unixSeconds = seconds + unixToReference
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = unixSeconds - days * 86_400
        let (year, month, day) = civilFromDays(days)
        appendDigits(year, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &bytes)
        var fraction = nanoseconds / pow10[9 - fractionDigits]
        while fractionDigits > 0, fraction % 10 == 0 {  // "as many digits as needed"
            fraction /= 10
            fractionDigits -= 1
        }
        if fractionDigits > 0 {
            bytes.append(UInt8(ascii: "."))
            appendDigits(fraction, count: fractionDigits, to: &bytes)
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    private static let pow10: [Int64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
    ]

    private static func digits(_ s: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for index in start..<(start + count) {
            let digit = s[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    private static func appendDigits(_ value: Int64, count: Int, to bytes: inout [UInt8]) {
        var divisor = pow10[count - 1]
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's proleptic Gregorian calendar algorithms
    // (https://howardhinnant.github.io/date_algorithms.html).

    /// Days since 1970-01-01.
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
