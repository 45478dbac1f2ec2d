/// The value sets of a parsed expression, plus the two flags that decide how
/// day-of-month and day-of-week combine.
struct CronFields: Sendable, Hashable {
    var minutes: CronValueSet
    var hours: CronValueSet
    var daysOfMonth: CronValueSet
    var months: CronValueSet
    /// 0 = Sunday … 6 = Saturday (a 7 in the source is folded onto 0).
    var daysOfWeek: CronValueSet
    /// Vixie cron looks at the first character of the field: a field that
    /// starts with `*` (including `*/2`) does not "restrict" the day.
    var dayOfMonthStartsWithStar: Bool
    var dayOfWeekStartsWithStar: Bool

    /// Vixie semantics: when both day fields are restricted a day matches if
    /// either matches; otherwise both must match.
    var daysMatchEitherField: Bool { !dayOfMonthStartsWithStar && !dayOfWeekStartsWithStar }
}

/// Turns cron source text into `CronFields`, with a precise reason on failure.
enum CronParser {
    /// Longest accepted input, in characters. Real expressions are far
    /// shorter; the cap keeps a hostile API caller from making us parse
    /// megabytes.
    static let maximumLength = 256

    static let macros: [String: String] = [
        "@hourly": "0 * * * *",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *",
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
    ]

    /// Parses `text` and returns its normalized spelling with the field sets.
    static func parse(_ text: String) throws(CronParseError) -> (normalized: String, fields: CronFields) {
        let tokens = try tokenize(text)
        guard let first = tokens.first else {
            throw CronParseError(reason: "expression is empty")
        }
        if first.hasPrefix("@") {
            let macro = first.lowercased()
            guard let expansion = macros[macro] else {
                throw CronParseError(reason: "unknown macro \(first)")
            }
            guard tokens.count == 1 else {
                throw CronParseError(reason: "macro \(macro) takes no fields, but more text follows it")
            }
            // The expansions are known-good; re-parse them so macros and
            // fields share a single code path.
            return (macro, try fields(from: expansion.split(separator: " ").map(String.init)))
        }
        guard tokens.count == 5 else {
            throw CronParseError(reason: "expected 5 fields, got \(tokens.count)")
        }
        // Messages quote the fields as typed; only the stored spelling is
        // upper-cased.
        let normalized = tokens.map { $0.uppercased() }.joined(separator: " ")
        return (normalized, try fields(from: tokens.map(String.init)))
    }

    /// Splits on ASCII whitespace after rejecting input no cron could mean.
    private static func tokenize(_ text: String) throws(CronParseError) -> [Substring] {
        let scalarCount = text.unicodeScalars.count
        guard scalarCount <= maximumLength else {
            throw CronParseError(
                reason: "expression is too long (\(scalarCount) characters, at most \(maximumLength))"
            )
        }
        for scalar in text.unicodeScalars {
            guard scalar.isASCII else {
                throw CronParseError(reason: "non-ASCII character \(codePoint(scalar)) is not allowed")
            }
            if scalar.value < 0x20 || scalar.value == 0x7F, !isWhitespace(scalar) {
                throw CronParseError(reason: "control character \(codePoint(scalar)) is not allowed")
            }
        }
        return text.split(whereSeparator: { $0.unicodeScalars.allSatisfy(isWhitespace) })
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        // Space, tab, LF, VT, FF, CR.
        scalar == " " || (0x09...0x0D).contains(scalar.value)
    }

    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    private static func fields(from tokens: [String]) throws(CronParseError) -> CronFields {
        let minutes = try parseField(tokens[0], as: .minute)
        let hours = try parseField(tokens[1], as: .hour)
        let daysOfMonth = try parseField(tokens[2], as: .dayOfMonth)
        let months = try parseField(tokens[3], as: .month)
        var daysOfWeek = try parseField(tokens[4], as: .dayOfWeek)
        if daysOfWeek.contains(7) {
            daysOfWeek.remove(7)
            daysOfWeek.insert(0)
        }
        let fields = CronFields(
            minutes: minutes,
            hours: hours,
            daysOfMonth: daysOfMonth,
            months: months,
            daysOfWeek: daysOfWeek,
            dayOfMonthStartsWithStar: tokens[2].hasPrefix("*"),
            dayOfWeekStartsWithStar: tokens[4].hasPrefix("*")
        )
        try checkCanFire(fields, dayOfMonthText: tokens[2], monthText: tokens[3])
        return fields
    }

    /// Rejects expressions such as `0 0 30 2 *` that name a day no selected
    /// month has: they would be accepted and then silently never run a
    /// backup. With either-or day semantics the weekday always matches
    /// eventually, and every valid (month, day) pair falls on every weekday
    /// within the 400-year Gregorian cycle, so this is the only way an
    /// expression can be dead.
    private static func checkCanFire(
        _ fields: CronFields,
        dayOfMonthText: String,
        monthText: String
    ) throws(CronParseError) {
        guard !fields.daysMatchEitherField, let earliestDay = fields.daysOfMonth.first else { return }
        let possible = fields.months.members.contains { month in
            earliestDay <= CivilCalendar.maximumDays(inMonth: month)
        }
        guard possible else {
            throw CronParseError(
                reason:
                    "day-of-month: \(dayOfMonthText) never occurs in month \(monthText), so the expression can never fire"
            )
        }
    }

    private static func parseField(_ text: String, as field: CronField) throws(CronParseError) -> CronValueSet {
        var set = CronValueSet()
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !element.isEmpty else {
                throw CronParseError(reason: "\(field.name): empty element in list \"\(text)\"")
            }
            set = set.union(try parseElement(element, as: field))
        }
        return set
    }

    /// One list element: `*`, `N`, `A-B`, each optionally followed by `/S`.
    private static func parseElement(_ element: Substring, as field: CronField) throws(CronParseError) -> CronValueSet {
        let parts = element.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw CronParseError(reason: "\(field.name): \"\(element)\" has more than one step")
        }
        let base = parts[0]
        guard !base.isEmpty else {
            throw CronParseError(reason: "\(field.name): \"\(element)\" is missing a value before \"/\"")
        }
        let step = parts.count == 2 ? try parseStep(parts[1], in: element, as: field) : nil

        let range: ClosedRange<Int>
        if base == "*" {
            range = field.bounds
        } else if base.contains("-") {
            let ends = base.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 2, !ends[0].isEmpty, !ends[1].isEmpty else {
                throw CronParseError(reason: "\(field.name): \"\(base)\" is not a valid range (expected A-B)")
            }
            let low = try parseValue(ends[0], as: field)
            let high = try parseValue(ends[1], as: field)
            guard low <= high else {
                var reason = "\(field.name): range \(base) is reversed"
                if field == .dayOfWeek, high == 0 {
                    // SAT-SUN is a natural thing to type; say how to write it.
                    reason += " (write Sunday as 7 at the end of a range, e.g. \(ends[0])-7)"
                }
                throw CronParseError(reason: reason)
            }
            range = low...high
        } else {
            let value = try parseValue(base, as: field)
            // `N/S` means "from N to the end of the field, every S".
            range = step == nil ? value...value : value...field.bounds.upperBound
        }
        return CronValueSet(stride(from: range.lowerBound, through: range.upperBound, by: step ?? 1))
    }

    private static func parseStep(
        _ text: Substring,
        in element: Substring,
        as field: CronField
    ) throws(CronParseError) -> Int {
        guard !text.isEmpty else {
            throw CronParseError(reason: "\(field.name): \"\(element)\" is missing a step after \"/\"")
        }
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw CronParseError(reason: "\(field.name): step \"\(text)\" is not a number")
        }
        let span = field.bounds.count
        guard let step = Int(text), step <= span else {
            throw CronParseError(reason: "\(field.name): step \(text) is out of range 1-\(span)")
        }
        guard step > 0 else {
            throw CronParseError(reason: "\(field.name): step 0 is not allowed")
        }
        return step
    }

    private static func parseValue(_ text: Substring, as field: CronField) throws(CronParseError) -> Int {
        let bounds = field.bounds
        if text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let value = Int(text), bounds.contains(value) else {
                throw CronParseError(
                    reason: "\(field.name): \(text) is out of range \(bounds.lowerBound)-\(bounds.upperBound)"
                )
            }
            return value
        }
        if let value = field.names[text.uppercased()] {
            return value
        }
        throw CronParseError(reason: "\(field.name): \"\(text)\" is not \(field.valueKind)")
    }
}
