import Foundation
import Testing

@testable import ResticManagerCore

/// Known answers. The expected values were produced by an independent
/// minute-by-minute brute force (Python `zoneinfo`) and spot-checked by
/// hand; the DST rows are the ones documented in docs/cron.md.
@Suite("Cron next runs")
struct CronNextRunTests {
    struct Example: Sendable, CustomTestStringConvertible {
        let expression: String
        let start: String
        let zone: String
        let expected: [String]

        init(_ expression: String, after start: String, in zone: String, _ expected: [String]) {
            self.expression = expression
            self.start = start
            self.zone = zone
            self.expected = expected
        }

        var testDescription: String { "\(expression) after \(start) in \(zone)" }

        func check() throws {
            let timeZone = try ResticManagerCoreTests.zone(zone)
            let runs = try CronExpression(expression).nextRuns(
                after: try instant(start),
                in: timeZone,
                count: expected.count
            )
            #expect(runs.map { wallClockText($0, in: timeZone) } == expected)
            #expect(runs == (try expected.map(instant)))
        }
    }

    static let utc: [Example] = [
        .init(
            "*/15 * * * *",
            after: "2025-01-01T00:07:30+00:00",
            in: "UTC",
            [
                "2025-01-01T00:15:00+00:00", "2025-01-01T00:30:00+00:00", "2025-01-01T00:45:00+00:00",
                "2025-01-01T01:00:00+00:00",
            ]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-01-01T00:14:59.999+00:00",
            in: "UTC",
            ["2025-01-01T00:15:00+00:00", "2025-01-01T00:30:00+00:00"]
        ),
        // Strictly after: a start exactly on a fire time does not return it.
        .init(
            "*/15 * * * *",
            after: "2025-01-01T00:15:00+00:00",
            in: "UTC",
            ["2025-01-01T00:30:00+00:00", "2025-01-01T00:45:00+00:00"]
        ),
        .init(
            "@yearly",
            after: "2025-06-01T00:00:00+00:00",
            in: "UTC",
            ["2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"]
        ),
        .init("@annually", after: "2025-12-31T23:59:59+00:00", in: "UTC", ["2026-01-01T00:00:00+00:00"]),
        .init(
            "@monthly",
            after: "2025-01-31T12:00:00+00:00",
            in: "UTC",
            ["2025-02-01T00:00:00+00:00", "2025-03-01T00:00:00+00:00", "2025-04-01T00:00:00+00:00"]
        ),
        .init(
            "@weekly",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-01-05T00:00:00+00:00", "2025-01-12T00:00:00+00:00"]
        ),
        .init(
            "@daily",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-01-02T00:00:00+00:00", "2025-01-03T00:00:00+00:00"]
        ),
        .init("@midnight", after: "2024-12-31T23:59:00+00:00", in: "UTC", ["2025-01-01T00:00:00+00:00"]),
        .init(
            "@hourly",
            after: "2025-01-01T10:30:00+00:00",
            in: "UTC",
            ["2025-01-01T11:00:00+00:00", "2025-01-01T12:00:00+00:00"]
        ),
        .init(
            "0 0 31 * *",
            after: "2025-01-31T00:00:00+00:00",
            in: "UTC",
            ["2025-03-31T00:00:00+00:00", "2025-05-31T00:00:00+00:00", "2025-07-31T00:00:00+00:00"]
        ),
        .init(
            "59 23 31 12 *",
            after: "2025-06-01T00:00:00+00:00",
            in: "UTC",
            ["2025-12-31T23:59:00+00:00", "2026-12-31T23:59:00+00:00"]
        ),
        .init(
            "0 9 * * MON-FRI",
            after: "2025-01-03T09:00:00+00:00",
            in: "UTC",
            ["2025-01-06T09:00:00+00:00", "2025-01-07T09:00:00+00:00", "2025-01-08T09:00:00+00:00"]
        ),
        .init(
            "0 0 * * 7",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-01-05T00:00:00+00:00", "2025-01-12T00:00:00+00:00"]
        ),
        .init(
            "5 4 * * sun",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-01-05T04:05:00+00:00", "2025-01-12T04:05:00+00:00"]
        ),
        .init(
            "15,45 8-10/2 * JAN,jul *",
            after: "2025-03-01T00:00:00+00:00",
            in: "UTC",
            [
                "2025-07-01T08:15:00+00:00", "2025-07-01T08:45:00+00:00", "2025-07-01T10:15:00+00:00",
                "2025-07-01T10:45:00+00:00", "2025-07-02T08:15:00+00:00",
            ]
        ),
        .init("0 0 1 1 *", after: "2025-01-01T00:00:00+00:00", in: "UTC", ["2026-01-01T00:00:00+00:00"]),
    ]

    static let leapYears: [Example] = [
        .init(
            "0 0 29 2 *",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"]
        ),
        // 2100 is not a leap year (divisible by 100, not by 400).
        .init(
            "0 0 29 2 *",
            after: "2095-01-01T00:00:00+00:00",
            in: "UTC",
            ["2096-02-29T00:00:00+00:00", "2104-02-29T00:00:00+00:00"]
        ),
        // 2000 is (divisible by 400).
        .init(
            "0 0 29 2 *",
            after: "1997-01-01T00:00:00+00:00",
            in: "UTC",
            ["2000-02-29T00:00:00+00:00", "2004-02-29T00:00:00+00:00"]
        ),
        .init(
            "0 12 28-29 2 *",
            after: "2024-02-28T12:00:00+00:00",
            in: "UTC",
            ["2024-02-29T12:00:00+00:00", "2025-02-28T12:00:00+00:00", "2026-02-28T12:00:00+00:00"]
        ),
        .init(
            "0 0 29 2 *",
            after: "2024-01-01T00:00:00+00:00",
            in: "Asia/Kolkata",
            ["2024-02-29T00:00:00+05:30", "2028-02-29T00:00:00+05:30"]
        ),
    ]

    /// Vixie cron: both day fields restricted → either matches; a day field
    /// starting with `*` → both must match.
    static let dayOfMonthOrDayOfWeek: [Example] = [
        .init(
            "0 12 1 * MON",
            after: "2025-09-01T12:00:00+00:00",
            in: "UTC",
            [
                "2025-09-08T12:00:00+00:00", "2025-09-15T12:00:00+00:00", "2025-09-22T12:00:00+00:00",
                "2025-09-29T12:00:00+00:00", "2025-10-01T12:00:00+00:00",
            ]
        ),
        .init(
            "0 12 13 * FRI",
            after: "2025-06-01T00:00:00+00:00",
            in: "UTC",
            [
                "2025-06-06T12:00:00+00:00", "2025-06-13T12:00:00+00:00", "2025-06-20T12:00:00+00:00",
                "2025-06-27T12:00:00+00:00",
            ]
        ),
        .init(
            "0 12 1,15 * FRI",
            after: "2025-08-31T00:00:00+00:00",
            in: "UTC",
            [
                "2025-09-01T12:00:00+00:00", "2025-09-05T12:00:00+00:00", "2025-09-12T12:00:00+00:00",
                "2025-09-15T12:00:00+00:00", "2025-09-19T12:00:00+00:00", "2025-09-26T12:00:00+00:00",
                "2025-10-01T12:00:00+00:00",
            ]
        ),
        // `*/10` starts with `*`, so it narrows rather than widens: only the
        // 1st, 11th, 21st and 31st that are Mondays.
        .init(
            "0 12 */10 * MON",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-03-31T12:00:00+00:00", "2025-04-21T12:00:00+00:00", "2025-07-21T12:00:00+00:00"]
        ),
        .init(
            "0 12 1 * */7",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-06-01T12:00:00+00:00", "2026-02-01T12:00:00+00:00"]
        ),
        // `1-31` does not start with `*`, so with a weekday it matches every day.
        .init(
            "0 12 1-31 * FRI",
            after: "2025-09-01T00:00:00+00:00",
            in: "UTC",
            ["2025-09-01T12:00:00+00:00", "2025-09-02T12:00:00+00:00"]
        ),
        .init(
            "0 12 * * FRI",
            after: "2025-09-01T00:00:00+00:00",
            in: "UTC",
            ["2025-09-05T12:00:00+00:00", "2025-09-12T12:00:00+00:00"]
        ),
        // Feb 30 can't match, but Mondays in February can.
        .init(
            "0 0 30 2 MON",
            after: "2025-01-01T00:00:00+00:00",
            in: "UTC",
            ["2025-02-03T00:00:00+00:00", "2025-02-10T00:00:00+00:00"]
        ),
    ]

    static let zones: [Example] = [
        .init(
            "0 9 * * MON-FRI",
            after: "2025-01-10T15:00:00+00:00",
            in: "America/New_York",
            ["2025-01-13T09:00:00-05:00", "2025-01-14T09:00:00-05:00", "2025-01-15T09:00:00-05:00"]
        ),
        .init(
            "0 0 1 * *",
            after: "2025-06-15T00:00:00+00:00",
            in: "America/New_York",
            ["2025-07-01T00:00:00-04:00", "2025-08-01T00:00:00-04:00"]
        ),
        .init(
            "0 3 * * *",
            after: "2025-07-01T00:00:00+00:00",
            in: "Europe/Berlin",
            ["2025-07-01T03:00:00+02:00", "2025-07-02T03:00:00+02:00"]
        ),
        .init(
            "@daily",
            after: "2025-12-31T22:30:00+00:00",
            in: "Europe/Berlin",
            ["2026-01-01T00:00:00+01:00", "2026-01-02T00:00:00+01:00"]
        ),
        .init(
            "0 0 * * *",
            after: "2025-01-01T00:00:00+00:00",
            in: "Australia/Lord_Howe",
            ["2025-01-02T00:00:00+11:00", "2025-01-03T00:00:00+11:00"]
        ),
        .init(
            "0 0 * * *",
            after: "2025-07-01T00:00:00+00:00",
            in: "Australia/Lord_Howe",
            ["2025-07-02T00:00:00+10:30", "2025-07-03T00:00:00+10:30"]
        ),
        .init(
            "0 0 * * *",
            after: "2025-01-01T00:00:00+00:00",
            in: "Asia/Kolkata",
            ["2025-01-02T00:00:00+05:30", "2025-01-03T00:00:00+05:30"]
        ),
        .init(
            "30 5 * * *",
            after: "2025-01-01T00:00:00+00:00",
            in: "Asia/Kolkata",
            ["2025-01-02T05:30:00+05:30", "2025-01-03T05:30:00+05:30"]
        ),
        .init(
            "0 * * * *",
            after: "2025-01-01T00:10:00+00:00",
            in: "Asia/Kolkata",
            ["2025-01-01T06:00:00+05:30", "2025-01-01T07:00:00+05:30"]
        ),
    ]

    @Test("UTC", arguments: utc)
    func inUTC(_ example: Example) throws { try example.check() }

    @Test("leap years", arguments: leapYears)
    func leapYear(_ example: Example) throws { try example.check() }

    @Test("day-of-month OR day-of-week", arguments: dayOfMonthOrDayOfWeek)
    func dayFields(_ example: Example) throws { try example.check() }

    @Test("named zones", arguments: zones)
    func namedZones(_ example: Example) throws { try example.check() }

    @Test func countZeroOrNegativeGivesNothing() throws {
        let expression = try CronExpression("* * * * *")
        #expect(expression.nextRuns(after: .now, in: .gmt, count: 0).isEmpty)
        #expect(expression.nextRuns(after: .now, in: .gmt, count: -3).isEmpty)
    }

    @Test func datesOutsideTheSupportedRangeGiveNil() throws {
        let expression = try CronExpression("* * * * *")
        #expect(expression.nextRun(after: Date(timeIntervalSince1970: 1e12), in: .gmt) == nil)  // year 33658
        #expect(expression.nextRun(after: Date(timeIntervalSince1970: .infinity), in: .gmt) == nil)
        #expect(expression.nextRun(after: Date(timeIntervalSince1970: .nan), in: .gmt) == nil)
        #expect(try CronExpression("@yearly").nextRun(after: instant("9999-06-01T00:00:00Z"), in: .gmt) == nil)
        // The far past works (proleptic Gregorian, like the rest).
        let first = expression.nextRun(after: .distantPast, in: .gmt)
        #expect(first == Date.distantPast.addingTimeInterval(60))
    }

    @Test func rareButPossibleSchedulesAreFoundBeyondFiveYears() throws {
        // Day-of-week starts with `*`, so both fields must match: 29 February
        // on a Sunday. From 2005 the next one is 2032.
        let runs = try CronExpression("0 0 29 2 */7").nextRuns(
            after: instant("2005-01-01T00:00:00Z"),
            in: .gmt,
            count: 2
        )
        #expect(runs == [try instant("2032-02-29T00:00:00Z"), try instant("2060-02-29T00:00:00Z")])
    }

    @Test("sparse schedules are found by skipping, not by walking minutes")
    func efficiency() throws {
        let expressions = try [
            "0 0 29 2 *", "59 23 31 12 *", "0 0 29 2 */7", "0 12 */10 * MON", "*/5 * * * *", "0 0 30 2 MON",
        ].map(CronExpression.init)
        let zones = try ["UTC", "Europe/Berlin", "Australia/Lord_Howe"].map(zone)
        let start = try instant("2025-03-01T00:00:00Z")
        let clock = ContinuousClock()
        var calls = 0
        let elapsed = clock.measure {
            for expression in expressions {
                for zone in zones {
                    for _ in 0..<20 {
                        #expect(expression.nextRuns(after: start, in: zone, count: 5).count == 5)
                        calls += 1
                    }
                }
            }
        }
        // A minute-by-minute walk needs ~2 million steps per leap-day run;
        // even an unoptimized build stays far below this bound when skipping.
        #expect(elapsed / calls < .milliseconds(5), "average \(elapsed / calls) per nextRuns(count: 5)")
    }
}
