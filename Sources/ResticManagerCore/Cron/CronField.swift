/// The five positional fields of a cron expression, with their legal values.
enum CronField: Int, CaseIterable, Sendable {
    case minute, hour, dayOfMonth, month, dayOfWeek

    /// The name used in error messages.
    var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// Values accepted in the source text. Day-of-week accepts 7 as a second
    /// spelling of Sunday; it is folded onto 0 after parsing.
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// Three-letter names (upper case) and their values, if the field has any.
    var names: [String: Int] {
        switch self {
        case .month: Self.monthNames
        case .dayOfWeek: Self.weekdayNames
        default: [:]
        }
    }

    /// What a value of this field may look like, for "is not a …" messages.
    var valueKind: String {
        switch self {
        case .month: "a month number or name (JAN-DEC)"
        case .dayOfWeek: "a day number or name (SUN-SAT)"
        default: "a number"
        }
    }

    private static let monthNames: [String: Int] = [
        "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
        "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
    ]

    private static let weekdayNames: [String: Int] = [
        "SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6,
    ]
}

/// A set of small non-negative integers (every cron field fits in 0...63),
/// stored as a bit mask so "next member at or after x" is a couple of
/// instructions instead of a loop.
struct CronValueSet: Sendable, Hashable {
    private(set) var bits: UInt64 = 0

    init() {}

    init(_ values: some Sequence<Int>) {
        for value in values { insert(value) }
    }

    var isEmpty: Bool { bits == 0 }

    mutating func insert(_ value: Int) {
        precondition((0..<64).contains(value), "cron values are always in 0...63")
        bits |= 1 << UInt64(value)
    }

    mutating func remove(_ value: Int) {
        precondition((0..<64).contains(value), "cron values are always in 0...63")
        bits &= ~(1 << UInt64(value))
    }

    func contains(_ value: Int) -> Bool {
        (0..<64).contains(value) && bits & (1 << UInt64(value)) != 0
    }

    /// The smallest member that is `>= value`, or nil if there is none.
    func first(atOrAfter value: Int) -> Int? {
        let start = max(value, 0)
        guard start < 64 else { return nil }
        let remaining = bits >> UInt64(start)
        return remaining == 0 ? nil : start + remaining.trailingZeroBitCount
    }

    /// The smallest member, or nil if the set is empty.
    var first: Int? { first(atOrAfter: 0) }

    func union(_ other: CronValueSet) -> CronValueSet {
        var result = self
        result.bits |= other.bits
        return result
    }

    /// Members in increasing order (for messages and tests).
    var members: [Int] { (0..<64).filter { contains($0) } }
}
