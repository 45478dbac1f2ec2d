import Foundation

/// A validated cron schedule: standard five fields or one of the `@` macros.
///
/// Grammar: `minute hour day-of-month month day-of-week`, each a
/// comma-separated list of `*`, `N`, `A-B`, `*/S`, `A-B/S` or `N/S` (which
/// means `N-max/S`). Months may be written `JAN`–`DEC`, days of the week
/// `SUN`–`SAT` (any case); day-of-week 0 and 7 are both Sunday. The macros
/// are `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`
/// and `@annually`. Anything else — including an expression that can never
/// fire, such as `0 0 30 2 *` — is rejected with a `CronParseError` whose
/// reason names the field and the problem.
///
/// Day matching follows Vixie cron: when day-of-month and day-of-week are
/// both restricted (neither starts with `*`) a day matches if *either*
/// does, so `0 0 1 * MON` runs on the 1st and on every Monday; otherwise
/// both must match.
///
/// ## Time zones and daylight saving time
///
/// Fire times are computed on the wall clock of the time zone passed in
/// (the host's zone), with the Gregorian calendar. Where that wall clock is
/// not continuous:
///
/// - **Skipped wall times** (spring forward, e.g. 02:00–02:59 on the day
///   Europe/Berlin jumps from 02:00 to 03:00): a matching time inside the
///   gap fires once, at the first instant after the gap (03:00 local), so a
///   nightly backup at 02:30 is moved rather than silently skipped. However
///   many minutes in the gap match, that is a single run, and it coincides
///   with a run at 03:00 if 03:00 matches too.
/// - **Repeated wall times** (fall back, e.g. 02:00–02:59 twice when Berlin
///   returns from 03:00 to 02:00): a matching time fires once, at its first
///   occurrence; the repetition does not fire again.
///
/// Consequently the runs returned are strictly increasing and no run
/// happens twice. The same rules are written up in `docs/cron.md`.
///
/// Two expressions are equal when their normalized text (`description`)
/// is, so `@daily` and `0 0 * * *` are different values that run alike.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The normalized source text: fields separated by single spaces, month
    /// and weekday names upper-cased, macros lower-cased.
    public let description: String

    let fields: CronFields

    /// How far ahead `nextRun` looks before giving up. Every accepted
    /// expression fires far sooner (the rarest, such as
    /// `0 0 29 2 */7` — 29 February falling on a Sunday — recurs within
    /// about 40 years), so in practice only dates near year 9999 give nil.
    static let searchHorizonYears = 100

    /// The instants `nextRun` accepts: `Date.distantPast` through the end
    /// of year 9999, the range calendars and tzdata handle sensibly.
    private static let supportedSeconds: ClosedRange<Double> = -62_135_769_600...253_402_300_799

    /// Parses and validates `text`.
    ///
    /// - Throws: `CronParseError` describing the first problem found, e.g.
    ///   `minute: 61 is out of range 0-59` or `expected 5 fields, got 4`.
    public init(_ text: String) throws(CronParseError) {
        (description, fields) = try CronParser.parse(text)
    }

    /// The first fire time strictly after `date`, evaluated on the wall
    /// clock of `timeZone` with the DST rules described on the type.
    ///
    /// Returns nil only if there is no fire time within the search horizon
    /// (100 years; every accepted expression fires sooner) or `date` lies
    /// before `Date.distantPast` or after year 9999.
    public func nextRun(after date: Date, in timeZone: TimeZone) -> Date? {
        let interval = date.timeIntervalSince1970
        guard Self.supportedSeconds.contains(interval) else { return nil }
        // Fire instants are whole seconds, so "after `date`" is the same as
        // "after the whole second containing `date`".
        let after = Int(interval.rounded(.down))
        let clock = ZoneClock(timeZone: timeZone)

        // No wall minute at or before the current one can map to an instant
        // after `date`, so start at the next wall minute.
        let nowLocal = after + clock.offset(at: after)
        var cursor = WallMinute(containing: nowLocal + 60)
        let lastYear = min(cursor.year + Self.searchHorizonYears, 9999)
        while let candidate = firstMatch(atOrAfter: cursor, throughYear: lastYear) {
            let fire = clock.fireInstant(forLocal: candidate.localSeconds)
            if fire > after {
                return Date(timeIntervalSince1970: TimeInterval(fire))
            }
            // Only in a repeated (fall-back) hour, when `date` lies in the
            // second pass: matches whose first occurrence has already
            // passed are skipped, so they never fire twice.
            cursor = WallMinute(containing: candidate.localSeconds + 60)
        }
        return nil
    }

    /// The next `count` fire times after `date` (fewer only if `nextRun`
    /// runs out), strictly increasing.
    public func nextRuns(after date: Date, in timeZone: TimeZone, count: Int) -> [Date] {
        var runs: [Date] = []
        runs.reserveCapacity(max(count, 0))
        var previous = date
        while runs.count < count, let run = nextRun(after: previous, in: timeZone) {
            runs.append(run)
            previous = run
        }
        return runs
    }

    /// The earliest wall minute at or after `start` that matches every
    /// field, skipping whole months, days and hours that cannot match so a
    /// yearly schedule costs a handful of steps rather than half a million
    /// minutes.
    func firstMatch(atOrAfter start: WallMinute, throughYear lastYear: Int) -> WallMinute? {
        var (year, month, day, hour, minute) = (start.year, start.month, start.day, start.hour, start.minute)
        while year <= lastYear {
            guard let matchingMonth = fields.months.first(atOrAfter: month) else {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0)
                continue
            }
            if matchingMonth != month {
                (month, day, hour, minute) = (matchingMonth, 1, 0, 0)
            }
            guard let matchingDay = firstMatchingDay(year: year, month: month, atOrAfter: day) else {
                (month, day, hour, minute) = (month + 1, 1, 0, 0)
                continue
            }
            if matchingDay != day {
                (day, hour, minute) = (matchingDay, 0, 0)
            }
            guard let matchingHour = fields.hours.first(atOrAfter: hour) else {
                (day, hour, minute) = (day + 1, 0, 0)
                continue
            }
            if matchingHour != hour {
                (hour, minute) = (matchingHour, 0)
            }
            guard let matchingMinute = fields.minutes.first(atOrAfter: minute) else {
                (hour, minute) = (hour + 1, 0)
                continue
            }
            return WallMinute(year: year, month: month, day: day, hour: hour, minute: matchingMinute)
        }
        return nil
    }

    private func firstMatchingDay(year: Int, month: Int, atOrAfter firstDay: Int) -> Int? {
        let lastDay = CivilCalendar.daysInMonth(year: year, month: month)
        let eitherField = fields.daysMatchEitherField
        var day = firstDay
        while day <= lastDay {
            if !eitherField {
                // Both fields must match: only days of month in the set can.
                guard let next = fields.daysOfMonth.first(atOrAfter: day), next <= lastDay else { return nil }
                day = next
            }
            let weekday = CivilCalendar.weekday(days: CivilCalendar.days(year: year, month: month, day: day))
            let dayOfMonthMatches = fields.daysOfMonth.contains(day)
            let dayOfWeekMatches = fields.daysOfWeek.contains(weekday)
            if eitherField ? (dayOfMonthMatches || dayOfWeekMatches) : (dayOfMonthMatches && dayOfWeekMatches) {
                return day
            }
            day += 1
        }
        return nil
    }
}
