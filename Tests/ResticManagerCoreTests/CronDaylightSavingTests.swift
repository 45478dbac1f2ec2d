import Foundation
import Testing

@testable import ResticManagerCore

/// The documented DST rules (docs/cron.md): a wall time skipped by a
/// spring-forward gap fires once at the first instant after the gap; a wall
/// time repeated by a fall-back fires once, at its first occurrence.
@Suite("Cron across DST transitions")
struct CronDaylightSavingTests {
    typealias Example = CronNextRunTests.Example

    /// 2025-03-30: Berlin jumps 02:00 CET → 03:00 CEST.
    static let berlinSpringForward: [Example] = [
        .init(
            "30 2 * * *",
            after: "2025-03-29T23:00:00+00:00",
            in: "Europe/Berlin",
            ["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"]
        ),
        .init(
            "0 * * * *",
            after: "2025-03-29T23:00:00+00:00",
            in: "Europe/Berlin",
            [
                "2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00",
                "2025-03-30T05:00:00+02:00", "2025-03-30T06:00:00+02:00",
            ]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-03-29T23:00:00+00:00",
            in: "Europe/Berlin",
            [
                "2025-03-30T00:15:00+01:00", "2025-03-30T00:30:00+01:00", "2025-03-30T00:45:00+01:00",
                "2025-03-30T01:00:00+01:00", "2025-03-30T01:15:00+01:00", "2025-03-30T01:30:00+01:00",
                "2025-03-30T01:45:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T03:15:00+02:00",
                "2025-03-30T03:30:00+02:00", "2025-03-30T03:45:00+02:00", "2025-03-30T04:00:00+02:00",
                "2025-03-30T04:15:00+02:00", "2025-03-30T04:30:00+02:00",
            ]
        ),
        // 02:59 does not exist that day, so it runs at 03:00; 03:59 still
        // runs as usual.
        .init(
            "59 2 * * *",
            after: "2025-03-29T23:00:00+00:00",
            in: "Europe/Berlin",
            ["2025-03-30T03:00:00+02:00", "2025-03-31T02:59:00+02:00"]
        ),
        .init(
            "59 2,3 * * *",
            after: "2025-03-29T23:00:00+00:00",
            in: "Europe/Berlin",
            ["2025-03-30T03:00:00+02:00", "2025-03-30T03:59:00+02:00", "2025-03-31T02:59:00+02:00"]
        ),
        // Starting exactly at the moved run: it has already fired.
        .init("30 2 * * *", after: "2025-03-30T01:00:00+00:00", in: "Europe/Berlin", ["2025-03-31T02:30:00+02:00"]),
        .init("30 2 * * *", after: "2025-03-30T00:59:59+00:00", in: "Europe/Berlin", ["2025-03-30T03:00:00+02:00"]),
    ]

    /// 2025-10-26: Berlin falls back 03:00 CEST → 02:00 CET.
    static let berlinFallBack: [Example] = [
        .init(
            "30 2 * * *",
            after: "2025-10-25T22:00:00+00:00",
            in: "Europe/Berlin",
            ["2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"]
        ),
        .init(
            "0 * * * *",
            after: "2025-10-25T22:00:00+00:00",
            in: "Europe/Berlin",
            [
                "2025-10-26T01:00:00+02:00", "2025-10-26T02:00:00+02:00", "2025-10-26T03:00:00+01:00",
                "2025-10-26T04:00:00+01:00", "2025-10-26T05:00:00+01:00",
            ]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-10-25T22:00:00+00:00",
            in: "Europe/Berlin",
            [
                "2025-10-26T00:15:00+02:00", "2025-10-26T00:30:00+02:00", "2025-10-26T00:45:00+02:00",
                "2025-10-26T01:00:00+02:00", "2025-10-26T01:15:00+02:00", "2025-10-26T01:30:00+02:00",
                "2025-10-26T01:45:00+02:00", "2025-10-26T02:00:00+02:00", "2025-10-26T02:15:00+02:00",
                "2025-10-26T02:30:00+02:00", "2025-10-26T02:45:00+02:00", "2025-10-26T03:00:00+01:00",
                "2025-10-26T03:15:00+01:00", "2025-10-26T03:30:00+01:00",
            ]
        ),
        // Starting inside the second pass of 02:xx: the repeats are skipped.
        .init(
            "*/15 * * * *",
            after: "2025-10-26T01:20:00+00:00",
            in: "Europe/Berlin",
            ["2025-10-26T03:00:00+01:00", "2025-10-26T03:15:00+01:00"]
        ),
        .init(
            "* * * * *",
            after: "2025-10-26T01:58:30+00:00",
            in: "Europe/Berlin",
            ["2025-10-26T03:00:00+01:00", "2025-10-26T03:01:00+01:00"]
        ),
        // Starting inside the first pass: the rest of the first pass still runs.
        .init(
            "*/15 * * * *",
            after: "2025-10-26T00:20:00+00:00",
            in: "Europe/Berlin",
            ["2025-10-26T02:30:00+02:00", "2025-10-26T02:45:00+02:00", "2025-10-26T03:00:00+01:00"]
        ),
    ]

    /// 2025-03-09: New York jumps 02:00 EST → 03:00 EDT.
    static let newYorkSpringForward: [Example] = [
        .init(
            "30 2 * * *",
            after: "2025-03-09T05:00:00+00:00",
            in: "America/New_York",
            ["2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"]
        ),
        .init(
            "30 2 * * *",
            after: "2025-03-08T12:00:00+00:00",
            in: "America/New_York",
            ["2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00", "2025-03-11T02:30:00-04:00"]
        ),
        .init(
            "0 * * * *",
            after: "2025-03-09T05:00:00+00:00",
            in: "America/New_York",
            [
                "2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00",
                "2025-03-09T05:00:00-04:00", "2025-03-09T06:00:00-04:00",
            ]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-03-09T05:00:00+00:00",
            in: "America/New_York",
            [
                "2025-03-09T00:15:00-05:00", "2025-03-09T00:30:00-05:00", "2025-03-09T00:45:00-05:00",
                "2025-03-09T01:00:00-05:00", "2025-03-09T01:15:00-05:00", "2025-03-09T01:30:00-05:00",
                "2025-03-09T01:45:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T03:15:00-04:00",
                "2025-03-09T03:30:00-04:00", "2025-03-09T03:45:00-04:00", "2025-03-09T04:00:00-04:00",
                "2025-03-09T04:15:00-04:00", "2025-03-09T04:30:00-04:00",
            ]
        ),
    ]

    /// 2025-11-02: New York falls back 02:00 EDT → 01:00 EST, so 01:xx
    /// happens twice and 02:xx once.
    static let newYorkFallBack: [Example] = [
        .init(
            "30 2 * * *",
            after: "2025-11-02T04:00:00+00:00",
            in: "America/New_York",
            ["2025-11-02T02:30:00-05:00", "2025-11-03T02:30:00-05:00"]
        ),
        .init(
            "30 1 * * *",
            after: "2025-11-01T12:00:00+00:00",
            in: "America/New_York",
            ["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00", "2025-11-04T01:30:00-05:00"]
        ),
        .init(
            "0 * * * *",
            after: "2025-11-02T04:00:00+00:00",
            in: "America/New_York",
            [
                "2025-11-02T01:00:00-04:00", "2025-11-02T02:00:00-05:00", "2025-11-02T03:00:00-05:00",
                "2025-11-02T04:00:00-05:00", "2025-11-02T05:00:00-05:00",
            ]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-11-02T04:00:00+00:00",
            in: "America/New_York",
            [
                "2025-11-02T00:15:00-04:00", "2025-11-02T00:30:00-04:00", "2025-11-02T00:45:00-04:00",
                "2025-11-02T01:00:00-04:00", "2025-11-02T01:15:00-04:00", "2025-11-02T01:30:00-04:00",
                "2025-11-02T01:45:00-04:00", "2025-11-02T02:00:00-05:00", "2025-11-02T02:15:00-05:00",
                "2025-11-02T02:30:00-05:00", "2025-11-02T02:45:00-05:00", "2025-11-02T03:00:00-05:00",
                "2025-11-02T03:15:00-05:00", "2025-11-02T03:30:00-05:00",
            ]
        ),
    ]

    /// Lord Howe moves its clocks by 30 minutes: 02:00 → 02:30 on
    /// 2025-10-05 and 02:00 → 01:30 on 2025-04-06.
    static let lordHowe: [Example] = [
        .init(
            "0 2 * * *",
            after: "2025-10-03T00:00:00+00:00",
            in: "Australia/Lord_Howe",
            ["2025-10-04T02:00:00+10:30", "2025-10-05T02:30:00+11:00", "2025-10-06T02:00:00+11:00"]
        ),
        .init(
            "30 2 * * *",
            after: "2025-10-03T00:00:00+00:00",
            in: "Australia/Lord_Howe",
            ["2025-10-04T02:30:00+10:30", "2025-10-05T02:30:00+11:00", "2025-10-06T02:30:00+11:00"]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-10-04T15:00:00+00:00",
            in: "Australia/Lord_Howe",
            [
                "2025-10-05T01:45:00+10:30", "2025-10-05T02:30:00+11:00", "2025-10-05T02:45:00+11:00",
                "2025-10-05T03:00:00+11:00", "2025-10-05T03:15:00+11:00",
            ]
        ),
        .init(
            "45 1 * * *",
            after: "2025-04-04T00:00:00+00:00",
            in: "Australia/Lord_Howe",
            ["2025-04-05T01:45:00+11:00", "2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"]
        ),
        .init(
            "*/15 * * * *",
            after: "2025-04-05T14:50:00+00:00",
            in: "Australia/Lord_Howe",
            [
                "2025-04-06T02:00:00+10:30", "2025-04-06T02:15:00+10:30", "2025-04-06T02:30:00+10:30",
                "2025-04-06T02:45:00+10:30", "2025-04-06T03:00:00+10:30", "2025-04-06T03:15:00+10:30",
                "2025-04-06T03:30:00+10:30",
            ]
        ),
    ]

    @Test("Berlin spring forward", arguments: berlinSpringForward)
    func berlinSpring(_ example: Example) throws { try example.check() }

    @Test("Berlin fall back", arguments: berlinFallBack)
    func berlinFall(_ example: Example) throws { try example.check() }

    @Test("New York spring forward", arguments: newYorkSpringForward)
    func newYorkSpring(_ example: Example) throws { try example.check() }

    @Test("New York fall back", arguments: newYorkFallBack)
    func newYorkFall(_ example: Example) throws { try example.check() }

    @Test("Lord Howe (30-minute DST)", arguments: lordHowe)
    func lordHoweShifts(_ example: Example) throws { try example.check() }

    @Test("a day that does not exist at all (Samoa skipped 2011-12-30)")
    func skippedDay() throws {
        let apia = try zone("Pacific/Apia")
        let runs = try CronExpression("0 12 * * *").nextRuns(
            after: instant("2011-12-28T12:00:00-10:00"),
            in: apia,
            count: 3
        )
        // 30 December 12:00 never happened; it runs as soon as the clock
        // resumes (31 December 00:00), then 31 December 12:00 as usual.
        #expect(
            runs.map { wallClockText($0, in: apia) } == [
                "2011-12-29T12:00:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00",
            ]
        )
    }

    @Test("a gap at midnight (São Paulo 2018-11-04 00:00 → 01:00)")
    func midnightGap() throws {
        let saoPaulo = try zone("America/Sao_Paulo")
        let runs = try CronExpression("@daily").nextRuns(
            after: instant("2018-11-02T12:00:00-03:00"),
            in: saoPaulo,
            count: 3
        )
        #expect(
            runs.map { wallClockText($0, in: saoPaulo) } == [
                "2018-11-03T00:00:00-03:00", "2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00",
            ]
        )
    }
}
