import Foundation
import Testing

@testable import ResticManagerCore

/// Randomized checks against an independent model of the grammar and an
/// independent notion of time (Foundation's `Calendar` and `TimeZone`,
/// never the library's own date arithmetic). Seeded, so failures replay.
@Suite("Cron properties")
struct CronPropertyTests {
    static let zoneNames = [
        "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
        "America/Sao_Paulo", "Pacific/Chatham", "Pacific/Apia",
    ]

    @Test("results match, strictly increase, chain, and never repeat a wall time")
    func randomExpressions() throws {
        var random = SplitMix64(seed: 0x5EED_C0DE)
        var checked = 0
        var rejected = 0
        for caseNumber in 0..<500 {
            let model = ExpressionModel.random(using: &random, dense: false)
            let timeZone = try zone(Self.zoneNames.randomElement(using: &random)!)
            let start = randomStart(in: timeZone, using: &random)
            let context = Comment(
                rawValue: "case \(caseNumber): \"\(model.text)\" after \(start) in \(timeZone.identifier)"
            )

            guard model.canFire else {
                #expect(throws: CronParseError.self, context) { try CronExpression(model.text) }
                rejected += 1
                continue
            }
            let expression = try CronExpression(model.text)
            let runs = expression.nextRuns(after: start, in: timeZone, count: 5)
            #expect(runs.count == 5, context)

            var previous = start
            var wallTimes = Set<WallKey>()
            for (index, run) in runs.enumerated() {
                #expect(run > previous, "not strictly increasing; \(context)")
                previous = run
                let wall = WallKey(run, in: timeZone)
                #expect(
                    model.matches(wall) || model.isFiringAfterGap(run, in: timeZone),
                    "\(wallClockText(run, in: timeZone)) does not match; \(context)"
                )
                #expect(!isSecondOccurrence(run, in: timeZone), "fired in the repeat of a fall-back; \(context)")
                #expect(wallTimes.insert(wall).inserted, "wall time fired twice; \(context)")
                // Each run is the first one after any instant just before it…
                #expect(expression.nextRun(after: run.addingTimeInterval(-0.001), in: timeZone) == run, context)
                // …and the runs chain.
                if index + 1 < runs.count {
                    #expect(expression.nextRun(after: run, in: timeZone) == runs[index + 1], context)
                }
            }
            checked += 1
        }
        // Keep the generator honest: most cases must exercise the search.
        #expect(checked > 400, "only \(checked) cases reached the search (\(rejected) rejected)")
    }

    @Test("no matching minute is skipped (minute-by-minute brute force)")
    func bruteForce() throws {
        var random = SplitMix64(seed: 0xB2_07E_F02C)
        let window: TimeInterval = 36 * 3600
        var totalRuns = 0
        for caseNumber in 0..<80 {
            let model = ExpressionModel.random(using: &random, dense: true)
            guard model.canFire else { continue }
            let timeZone = try zone(Self.zoneNames.randomElement(using: &random)!)
            let start = randomStart(in: timeZone, using: &random, nearTransitionChance: 0.85)
            let end = start.addingTimeInterval(window)
            let context = Comment(
                rawValue: "case \(caseNumber): \"\(model.text)\" after \(start) in \(timeZone.identifier)"
            )

            let expression = try CronExpression(model.text)
            var actual: [Date] = []
            var cursor = start
            while let run = expression.nextRun(after: cursor, in: timeZone), run <= end {
                actual.append(run)
                cursor = run
            }
            let expected = model.bruteForceRuns(after: start, through: end, in: timeZone)
            if actual != expected {
                let index =
                    zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(actual.count, expected.count)
                // Report only the first divergence: dense expressions have
                // thousands of runs.
                let show = { (runs: [Date]) in runs.dropFirst(index).prefix(3).map { wallClockText($0, in: timeZone) } }
                Issue.record(
                    "runs diverge at #\(index): got \(show(actual)), brute force says \(show(expected)); \(context)"
                )
            }
            totalRuns += expected.count
        }
        #expect(totalRuns > 1000, "the dense generator should produce plenty of runs to compare")
    }

    @Test(
        "nothing fires twice in a fall-back hour",
        arguments: ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
    )
    func fallBackHours(zoneName: String) throws {
        let timeZone = try zone(zoneName)
        for expressionText in ["* * * * *", "*/15 * * * *", "0 * * * *", "30 1,2 * * *", "59 0-3 * * *"] {
            let expression = try CronExpression(expressionText)
            var cursor = try instant("2020-01-01T00:00:00Z")
            for _ in 0..<6 {
                // Each fall-back between 2020 and 2022, ±3 hours.
                guard let transition = nextFallBack(after: cursor, in: timeZone) else { break }
                cursor = transition.addingTimeInterval(86_400)
                var runs: [Date] = []
                var at = transition.addingTimeInterval(-3 * 3600)
                while let run = expression.nextRun(after: at, in: timeZone),
                    run < transition.addingTimeInterval(3 * 3600)
                {
                    runs.append(run)
                    at = run
                }
                let walls = runs.map { WallKey($0, in: timeZone) }
                #expect(Set(walls).count == walls.count, "\(expressionText) around \(transition)")
                #expect(
                    runs.allSatisfy { !isSecondOccurrence($0, in: timeZone) },
                    "\(expressionText) around \(transition)"
                )
            }
        }
    }

    @Test("exactly the day/month combinations that can never fire are rejected")
    func deadDayMonthCombinations() throws {
        for dayOfMonth in ["28", "29", "30", "31", "30-31", "29,31", "*/30", "1-31"] {
            for month in ["1", "2", "4", "2,4", "4,6,9,11", "2-4", "*", "FEB", "feb/3"] {
                for dayOfWeek in ["*", "MON", "*/2", "0-7"] {
                    let model = ExpressionModel.parse("0 0 \(dayOfMonth) \(month) \(dayOfWeek)")
                    if model.canFire {
                        #expect(throws: Never.self, "\(model.text)") { try CronExpression(model.text) }
                    } else {
                        #expect(throws: CronParseError.self, "\(model.text)") { try CronExpression(model.text) }
                    }
                }
            }
        }
    }

    // MARK: - Helpers

    func randomStart(
        in timeZone: TimeZone,
        using random: inout SplitMix64,
        nearTransitionChance: Double = 0.6
    ) -> Date {
        let fraction = Double.random(in: 0..<1, using: &random)
        if Double.random(in: 0..<1, using: &random) < nearTransitionChance {
            let year = Int.random(in: 1990...2040, using: &random)
            let from = Date(timeIntervalSince1970: Double(year - 1970) * 365.2425 * 86_400 + fraction * 365 * 86_400)
            if let transition = timeZone.nextDaylightSavingTimeTransition(after: from) {
                let shift = Double(Int.random(in: -4 * 3600...4 * 3600, using: &random))
                // Sometimes exactly on a minute, sometimes with fractional seconds.
                let jitter = Bool.random(using: &random) ? 0 : Double.random(in: 0..<60, using: &random)
                return transition.addingTimeInterval(shift + jitter)
            }
        }
        return Date(timeIntervalSince1970: 31_536_000 + fraction * 4_070_908_800)
    }

    func nextFallBack(after date: Date, in timeZone: TimeZone) -> Date? {
        var cursor = date
        for _ in 0..<4 {
            guard let transition = timeZone.nextDaylightSavingTimeTransition(after: cursor) else { return nil }
            if timeZone.secondsFromGMT(for: transition)
                < timeZone.secondsFromGMT(for: transition.addingTimeInterval(-1))
            {
                return transition
            }
            cursor = transition
        }
        return nil
    }

    /// True if the wall time `date` shows was already shown earlier (the
    /// second pass through a fall-back hour).
    func isSecondOccurrence(_ date: Date, in timeZone: TimeZone) -> Bool {
        let offset = timeZone.secondsFromGMT(for: date)
        let earlierOffset = timeZone.secondsFromGMT(for: date.addingTimeInterval(-86_400))
        guard earlierOffset > offset else { return false }
        let twin = date.addingTimeInterval(-Double(earlierOffset - offset))
        return timeZone.secondsFromGMT(for: twin) == earlierOffset
    }
}

/// A wall-clock minute, computed by Foundation.
struct WallKey: Hashable {
    let year: Int, month: Int, day: Int, hour: Int, minute: Int, weekday: Int

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    init(_ date: Date, in timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.init(calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date))
    }

    /// The wall time `localSeconds` after 1970-01-01T00:00 on some clock.
    init(localSeconds: Int) {
        let date = Date(timeIntervalSince1970: TimeInterval(localSeconds))
        self.init(Self.utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date))
    }

    private init(_ parts: DateComponents) {
        year = parts.year!
        month = parts.month!
        day = parts.day!
        hour = parts.hour!
        minute = parts.minute!
        weekday = parts.weekday! - 1  // Calendar: 1 = Sunday; cron: 0 = Sunday
    }
}

/// The test's own reading of a random expression: its text plus the value
/// sets it should denote, computed without the library.
struct ExpressionModel {
    var text: String
    var minutes: Set<Int>
    var hours: Set<Int>
    var daysOfMonth: Set<Int>
    var months: Set<Int>
    var daysOfWeek: Set<Int>
    var dayOfMonthStar: Bool
    var dayOfWeekStar: Bool

    static let bounds = [0...59, 0...23, 1...31, 1...12, 0...7]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    static let macros = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]

    var canFire: Bool {
        guard dayOfMonthStar || dayOfWeekStar else { return true }
        let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return months.contains { month in daysOfMonth.contains { $0 <= longest[month - 1] } }
    }

    func matches(_ wall: WallKey) -> Bool {
        guard minutes.contains(wall.minute), hours.contains(wall.hour), months.contains(wall.month) else {
            return false
        }
        let dayOfMonth = daysOfMonth.contains(wall.day)
        let dayOfWeek = daysOfWeek.contains(wall.weekday)
        return !dayOfMonthStar && !dayOfWeekStar ? (dayOfMonth || dayOfWeek) : (dayOfMonth && dayOfWeek)
    }

    /// The documented exception: `date` is the first instant after a
    /// spring-forward gap and some skipped wall minute matches.
    func isFiringAfterGap(_ date: Date, in timeZone: TimeZone) -> Bool {
        let before = timeZone.secondsFromGMT(for: date.addingTimeInterval(-1))
        let after = timeZone.secondsFromGMT(for: date)
        guard after > before else { return false }
        let instant = Int(date.timeIntervalSince1970)
        return stride(from: instant + before, to: instant + after, by: 60).contains {
            matches(WallKey(localSeconds: $0))
        }
    }

    /// Every fire time in (start, end], found by stepping one UTC minute at
    /// a time and applying the documented rules directly: a wall minute
    /// fires the first time the clock shows it; wall minutes the clock
    /// jumps over fire at the instant of the jump.
    func bruteForceRuns(after start: Date, through end: Date, in timeZone: TimeZone) -> [Date] {
        func wall(_ instant: Int) -> Int {
            instant + timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
        }
        var cache: [Int: Bool] = [:]
        func matchesWall(_ local: Int) -> Bool {
            if let known = cache[local] { return known }
            let result = matches(WallKey(localSeconds: local))
            cache[local] = result
            return result
        }
        let first = Int((start.timeIntervalSince1970 / 60).rounded(.down)) * 60
        var seen = Set<Int>()
        for instant in stride(from: first - 86_400, through: first, by: 60) {
            seen.insert(wall(instant))
        }
        var previousWall = wall(first)
        var runs: [Date] = []
        for instant in stride(from: first + 60, through: Int(end.timeIntervalSince1970), by: 60) {
            let current = wall(instant)
            var fires = !seen.contains(current) && matchesWall(current)
            var skipped = previousWall + 60
            while !fires, skipped < current {
                fires = matchesWall(skipped)
                skipped += 60
            }
            seen.insert(current)
            previousWall = current
            let date = Date(timeIntervalSince1970: TimeInterval(instant))
            if fires, date > start {
                runs.append(date)
            }
        }
        return runs
    }

    static func random(using random: inout SplitMix64, dense: Bool) -> ExpressionModel {
        if !dense, Int.random(in: 0..<20, using: &random) == 0 {
            let macro = macros.keys.sorted().randomElement(using: &random)!
            var model = parse(macros[macro]!)
            model.text = Bool.random(using: &random) ? macro : macro.uppercased()
            return model
        }
        // Chance that a field is a plain `*`: high for the coarse fields so
        // that most expressions fire often enough to be interesting.
        let starChance = dense ? [0.2, 0.7, 0.9, 0.95, 0.85] : [0.25, 0.4, 0.55, 0.65, 0.55]
        var texts: [String] = []
        for field in 0..<5 {
            if Double.random(in: 0..<1, using: &random) < starChance[field] {
                texts.append("*")
                continue
            }
            let count = [1, 1, 1, 2, 3].randomElement(using: &random)!
            texts.append((0..<count).map { _ in element(field, using: &random) }.joined(separator: ","))
        }
        var model = parse(texts.joined(separator: " "))
        // Sprinkle irregular whitespace; the parser must not care.
        model.text = texts.joined(separator: [" ", "  ", "\t"].randomElement(using: &random)!)
        return model
    }

    private static func element(_ field: Int, using random: inout SplitMix64) -> String {
        let range = bounds[field]
        func value() -> Int { Int.random(in: range, using: &random) }
        func render(_ number: Int) -> String {
            let useName = Int.random(in: 0..<3, using: &random) == 0
            if useName, field == 3 { return cased(monthNames[number - 1], using: &random) }
            if useName, field == 4, number < 7 { return cased(dayNames[number], using: &random) }
            return String(number)
        }
        func step() -> Int { Int.random(in: 1...max(1, range.count / 2), using: &random) }
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            return render(value())
        case 1:
            let (a, b) = (value(), value())
            return "\(render(min(a, b)))-\(render(max(a, b)))"
        case 2:
            return "*/\(step())"
        case 3:
            let (a, b) = (value(), value())
            return "\(render(min(a, b)))-\(render(max(a, b)))/\(step())"
        default:
            return "\(render(value()))/\(step())"
        }
    }

    private static func cased(_ name: String, using random: inout SplitMix64) -> String {
        switch Int.random(in: 0..<3, using: &random) {
        case 0: name
        case 1: name.lowercased()
        default: name.prefix(1) + name.dropFirst().lowercased()
        }
    }

    /// Reads text produced by `random` (always valid syntax) into sets.
    static func parse(_ text: String) -> ExpressionModel {
        let fields = text.split(separator: " ").map(String.init)
        var sets: [Set<Int>] = []
        for (index, field) in fields.enumerated() {
            var values = Set<Int>()
            for element in field.split(separator: ",") {
                let parts = element.split(separator: "/")
                let step = parts.count == 2 ? Int(parts[1])! : 1
                var low: Int
                var high: Int
                if parts[0] == "*" {
                    (low, high) = (bounds[index].lowerBound, bounds[index].upperBound)
                } else if parts[0].contains("-") {
                    let ends = parts[0].split(separator: "-")
                    (low, high) = (number(ends[0], field: index), number(ends[1], field: index))
                } else {
                    low = number(parts[0], field: index)
                    high = parts.count == 2 ? bounds[index].upperBound : low
                }
                var value = low
                while value <= high {
                    values.insert(index == 4 && value == 7 ? 0 : value)
                    value += step
                }
            }
            sets.append(values)
        }
        return ExpressionModel(
            text: text,
            minutes: sets[0],
            hours: sets[1],
            daysOfMonth: sets[2],
            months: sets[3],
            daysOfWeek: sets[4],
            dayOfMonthStar: fields[2].hasPrefix("*"),
            dayOfWeekStar: fields[4].hasPrefix("*")
        )
    }

    private static func number(_ text: Substring, field: Int) -> Int {
        if let value = Int(text) { return value }
        if field == 3 { return monthNames.firstIndex(of: text.uppercased())! + 1 }
        return dayNames.firstIndex(of: text.uppercased())!
    }
}

/// SplitMix64: tiny, fast, and fully determined by its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
