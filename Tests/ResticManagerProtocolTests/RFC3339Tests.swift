import Foundation
import Testing

@testable import ResticManagerProtocol

@Suite("RFC 3339 parsing and formatting")
struct RFC3339Tests {
    @Test(
        "parses to the right instant (checked against Python's datetime)",
        arguments: [
            ("1970-01-01T00:00:00Z", 0),
            ("2001-01-01T00:00:00Z", 978_307_200),
            ("2026-05-01T00:24:40+01:00", 1_777_591_480),
            ("2026-04-30T19:24:40-04:00", 1_777_591_480),
            ("2026-04-30T23:24:40z", 1_777_591_480),
            ("2026-04-30t23:24:40Z", 1_777_591_480),
            ("1969-12-31T23:59:59Z", -1),
            ("0001-01-01T00:00:00Z", -62_135_596_800),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
            ("2024-02-29T12:00:00Z", 1_709_208_000),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("1900-03-01T00:00:00Z", -2_203_891_200),
            ("2026-05-01T00:24:40+00:00", 1_777_595_080),
            ("2026-05-01T00:24:40-00:30", 1_777_596_880),
            ("2026-05-01T00:24:40+23:59", 1_777_595_080 - 86_340),
        ] as [(String, Int64)]
    )
    func knownInstants(_ text: String, _ unixSeconds: Int64) {
        #expect(RFC3339.parse(text) == Date(timeIntervalSince1970: Double(unixSeconds)))
    }

    @Test("accepts fractions of 1 to 9 digits", arguments: 1...9)
    func fractionDigits(_ count: Int) throws {
        let digits = String("123456789".prefix(count))
        let parsed = try #require(RFC3339.parse("2026-05-01T00:24:40.\(digits)Z"))
        let expected = 1_777_595_080 + Double("0.\(digits)")!
        #expect(abs(parsed.timeIntervalSince1970 - expected) < 1e-6)
    }

    @Test("truncates digits beyond nanoseconds, as Go does")
    func longFractions() {
        #expect(
            RFC3339.parse("2026-05-01T00:24:40.1234567891234567Z") == RFC3339.parse("2026-05-01T00:24:40.123456789Z")
        )
        #expect(RFC3339.parse("2026-05-01T00:24:40.0000000009Z") == RFC3339.parse("2026-05-01T00:24:40Z"))
    }

    @Test(
        "rejects invalid text",
        arguments: [
            "", "garbage", "2026-05-01", "2026-05-01T00:24:40", "2026-05-01T00:24Z",
            "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-32T00:00:00Z", "2026-04-31T00:00:00Z",
            "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-05-01T24:00:00Z", "2026-05-01T00:60:00Z",
            "2026-05-01T00:00:60Z", "2026-05-01 00:24:40Z", "2026-05-01T00:24:40ZZ", "2026-05-01T00:24:40Z ",
            " 2026-05-01T00:24:40Z", "2026-05-01T00:24:40+01:00x", "2026-05-01T00:24:40+1:00",
            "2026-05-01T00:24:40+01", "2026-05-01T00:24:40+0100", "2026-05-01T00:24:40+24:00",
            "2026-05-01T00:24:40+01:60", "2026-05-01T00:24:40.Z", "2026-05-01T00:24:40,5Z", "2026-05-01T00:24:40.5",
            "+2026-05-01T00:24:40Z", "20260-05-01T00:24:40Z", "2026-5-01T00:24:40Z", "2026-05-01T00:24:4OZ",
            "2026/05/01T00:24:40Z", "２０２６-05-01T00:24:40Z", "2026-05-01T00:24:40UTC",
        ]
    )
    func rejects(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(
        "formats in UTC with as many fraction digits as needed",
        arguments: [
            (0, "1970-01-01T00:00:00Z"),
            (1_777_591_480, "2026-04-30T23:24:40Z"),
            (1_777_591_480.5, "2026-04-30T23:24:40.5Z"),
            (1_777_591_480.25, "2026-04-30T23:24:40.25Z"),
            (-0.5, "1969-12-31T23:59:59.5Z"),
            (-62_135_596_800, "0001-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
        ] as [(Double, String)]
    )
    func formats(_ unixSeconds: Double, _ expected: String) {
        #expect(RFC3339.format(Date(timeIntervalSince1970: unixSeconds)) == expected)
    }

    @Test(
        "microsecond and millisecond fractions format exactly",
        arguments: [
            "2026-05-01T00:24:40.001Z", "2026-05-01T00:24:40.123456Z", "2026-05-01T00:24:40.1Z",
            "2026-05-01T00:24:40.000001Z", "1999-12-31T23:59:59.999999Z",
        ]
    )
    func shortFractionsRoundTripAsText(_ text: String) throws {
        #expect(RFC3339.format(try #require(RFC3339.parse(text))) == text)
    }

    @Test("nanosecond input keeps what Date can hold, and parses back to the same Date")
    func nanosecondInput() throws {
        let parsed = try #require(RFC3339.parse("2026-05-01T00:24:40.123456789+01:00"))
        let formatted = RFC3339.format(parsed)
        #expect(formatted.hasPrefix("2026-04-30T23:24:40.123456"))
        #expect(formatted.hasSuffix("Z"))
        #expect(formatted.count <= "2026-04-30T23:24:40.123456789Z".count)
        #expect(RFC3339.parse(formatted) == parsed)
    }

    @Test("parse(format(d)) is d to the nanosecond for many dates")
    func roundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        var dates = [
            Date(), Date(timeIntervalSince1970: 0), RFC3339.goZeroTime, Date(timeIntervalSinceReferenceDate: 0.1),
            Date(timeIntervalSinceReferenceDate: -600_000.123_456_789_123),
        ]
        for _ in 0..<2_000 {
            dates.append(
                Date(timeIntervalSince1970: Double.random(in: -62_000_000_000...253_000_000_000, using: &generator))
            )
            dates.append(
                Date(timeIntervalSince1970: Double.random(in: 1_700_000_000...1_900_000_000, using: &generator))
            )
        }
        for date in dates {
            let text = RFC3339.format(date)
            let parsed = try #require(RFC3339.parse(text), "\(text)")
            // Nine digits name a nanosecond; near 2001 (Date's epoch) a Double
            // is finer than that, so only there can the round trip differ, by
            // less than half a nanosecond.
            let error = abs(parsed.timeIntervalSinceReferenceDate - date.timeIntervalSinceReferenceDate)
            #expect(error <= 0.5e-9, "\(text) from \(date.timeIntervalSinceReferenceDate)")
            let fraction = text.split(separator: ".").dropFirst().first.map { $0.dropLast() } ?? ""
            #expect(fraction.count <= 9 && !fraction.hasSuffix("0"), "\(text)")
        }
    }

    @Test("dates Go cannot encode are clamped, never a crash")
    func clamping() {
        // Foundation's distantPast is 0000-12-30 in the proleptic Gregorian calendar.
        #expect(RFC3339.format(.distantPast) == "0000-12-30T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1e15)) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.format(Date(timeIntervalSinceReferenceDate: .infinity)) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.format(Date(timeIntervalSinceReferenceDate: -.infinity)) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSinceReferenceDate: .nan)) == "0001-01-01T00:00:00Z")
    }

    @Test("Go's zero time is 0001-01-01T00:00:00Z")
    func goZeroTime() {
        #expect(RFC3339.format(RFC3339.goZeroTime) == "0001-01-01T00:00:00Z")
        #expect(RFC3339.parse("0001-01-01T00:00:00Z") == RFC3339.goZeroTime)
    }
}
