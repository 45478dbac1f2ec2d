/// Proleptic Gregorian date arithmetic on plain integers.
///
/// The schedule search runs on these instead of `Calendar` because it
/// touches many candidate days and `Calendar` calls are orders of magnitude
/// slower. For every date since 1582 the results are identical to
/// `Calendar(identifier: .gregorian)`; before that Foundation switches to
/// the Julian calendar, which no backup schedule cares about.
public enum CivilCalendar {
    /// Days since 1970-01-01 (algorithm from Howard Hinnant's `chrono`
    /// date paper; exact for every year, negative ones included).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `days(year:month:day:)`.
    public static func date(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 0 = Sunday … 6 = Saturday, as in cron.
    static func weekday(days: Int) -> Int {
        // 1970-01-01 was a Thursday.
        floorModulo(days + 4, 7)
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        month == 2 ? (isLeapYear(year) ? 29 : 28) : maximumDays(inMonth: month)
    }

    /// Days the month has in its longest year (February: 29).
    static func maximumDays(inMonth month: Int) -> Int {
        switch month {
        case 2: 29
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    static func floorModulo(_ value: Int, _ divisor: Int) -> Int {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

/// A minute on some local wall clock, independent of any time zone.
struct WallMinute: Sendable, Hashable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    /// The minute containing `localSeconds` (seconds since 1970-01-01T00:00
    /// on the same wall clock).
    init(containing localSeconds: Int) {
        let days = CivilCalendar.floorDivide(localSeconds, 86_400)
        let secondOfDay = localSeconds - days * 86_400
        let date = CivilCalendar.date(fromDays: days)
        self.init(
            year: date.year,
            month: date.month,
            day: date.day,
            hour: secondOfDay / 3600,
            minute: secondOfDay % 3600 / 60
        )
    }

    /// Seconds since 1970-01-01T00:00 on this wall clock.
    var localSeconds: Int {
        let days = CivilCalendar.days(year: year, month: month, day: day)
        return days * 86_400 + hour * 3600 + minute * 60
    }
}
