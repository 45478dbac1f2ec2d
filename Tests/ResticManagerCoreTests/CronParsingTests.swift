import Foundation
import Testing

@testable import ResticManagerCore

@Suite("Cron parsing")
struct CronParsingTests {
    struct Accepted: Sendable, CustomTestStringConvertible {
        let input: String
        let normalized: String
        init(_ input: String, _ normalized: String) {
            self.input = input
            self.normalized = normalized
        }
        var testDescription: String { "\"\(input)\"" }
    }

    struct Rejected: Sendable, CustomTestStringConvertible {
        let input: String
        let reason: String
        init(_ input: String, _ reason: String) {
            self.input = input
            self.reason = reason
        }
        var testDescription: String { "\"\(input.prefix(40))\"" }
    }

    static let longestValid = "00" + String(repeating: ",0", count: 123) + " * * * *"

    static let accepted: [Accepted] = [
        .init("0 0 * * *", "0 0 * * *"),
        .init("  0   0\t* *\n*  ", "0 0 * * *"),
        .init("0 0 * jan,Feb mon-fri", "0 0 * JAN,FEB MON-FRI"),
        .init("*/5 1-5/2 1,15 */3 0-7", "*/5 1-5/2 1,15 */3 0-7"),
        .init("5/20 7/6 10/7 2/5 1/2", "5/20 7/6 10/7 2/5 1/2"),
        .init("00 09 01 01 00", "00 09 01 01 00"),
        .init("*/60 */24 */31 */12 */8", "*/60 */24 */31 */12 */8"),
        .init("0 0 29 2 *", "0 0 29 2 *"),
        .init("0 0 30 2 MON", "0 0 30 2 MON"),
        .init("0 0 31 * *", "0 0 31 * *"),
        .init("59 23 31 12 7", "59 23 31 12 7"),
        .init("0 12 * * sat-7", "0 12 * * SAT-7"),
        .init("@hourly", "@hourly"),
        .init("@DAILY", "@daily"),
        .init(" @midnight ", "@midnight"),
        .init("@weekly", "@weekly"),
        .init("@monthly", "@monthly"),
        .init("@Yearly", "@yearly"),
        .init("@annually", "@annually"),
        .init(longestValid, longestValid),
    ]

    static let rejected: [Rejected] = [
        .init("", "expression is empty"),
        .init(" \t\n ", "expression is empty"),
        .init("0 0 * *", "expected 5 fields, got 4"),
        .init("0", "expected 5 fields, got 1"),
        .init("0 0 0 * * * *", "expected 5 fields, got 7"),
        .init("0 0 * * * 2025", "expected 5 fields, got 6"),
        .init("61 * * * *", "minute: 61 is out of range 0-59"),
        .init("* 24 * * *", "hour: 24 is out of range 0-23"),
        .init("* * 0 * *", "day-of-month: 0 is out of range 1-31"),
        .init("* * 32 * *", "day-of-month: 32 is out of range 1-31"),
        .init("* * * 0 *", "month: 0 is out of range 1-12"),
        .init("* * * 13 *", "month: 13 is out of range 1-12"),
        .init("* * * * 8", "day-of-week: 8 is out of range 0-7"),
        .init("0-60 * * * *", "minute: 60 is out of range 0-59"),
        .init("99999999999999999999999 * * * *", "minute: 99999999999999999999999 is out of range 0-59"),
        .init("* * * * */0", "day-of-week: step 0 is not allowed"),
        .init("*/0 * * * *", "minute: step 0 is not allowed"),
        .init("1-5/00 * * * *", "minute: step 0 is not allowed"),
        .init("*/61 * * * *", "minute: step 61 is out of range 1-60"),
        .init("* */25 * * *", "hour: step 25 is out of range 1-24"),
        .init("*/x * * * *", "minute: step \"x\" is not a number"),
        .init("5/ * * * *", "minute: \"5/\" is missing a step after \"/\""),
        .init("/5 * * * *", "minute: \"/5\" is missing a value before \"/\""),
        .init("1/2/3 * * * *", "minute: \"1/2/3\" has more than one step"),
        .init("5-2 * * * *", "minute: range 5-2 is reversed"),
        .init("* * * DEC-JAN *", "month: range DEC-JAN is reversed"),
        .init("* * * * FRI-MON", "day-of-week: range FRI-MON is reversed"),
        .init(
            "* * * * sat-sun",
            "day-of-week: range sat-sun is reversed (write Sunday as 7 at the end of a range, e.g. sat-7)"
        ),
        .init("-5 * * * *", "minute: \"-5\" is not a valid range (expected A-B)"),
        .init("1-2-3 * * * *", "minute: \"1-2-3\" is not a valid range (expected A-B)"),
        .init("*-5 * * * *", "minute: \"*\" is not a number"),
        .init("1,,2 * * * *", "minute: empty element in list \"1,,2\""),
        .init("* 1, * * *", "hour: empty element in list \"1,\""),
        .init("a * * * *", "minute: \"a\" is not a number"),
        .init("JAN * * * *", "minute: \"JAN\" is not a number"),
        .init("? * * * *", "minute: \"?\" is not a number"),
        .init("* * L * *", "day-of-month: \"L\" is not a number"),
        .init("* * * foo *", "month: \"foo\" is not a month number or name (JAN-DEC)"),
        .init("* * * JANUARY *", "month: \"JANUARY\" is not a month number or name (JAN-DEC)"),
        .init("* * * * MONDAY", "day-of-week: \"MONDAY\" is not a day number or name (SUN-SAT)"),
        .init("* * * * 1#2", "day-of-week: \"1#2\" is not a day number or name (SUN-SAT)"),
        .init("@reboot", "unknown macro @reboot"),
        .init("@", "unknown macro @"),
        .init("@daily 1", "macro @daily takes no fields, but more text follows it"),
        .init("0 0 30 2 *", "day-of-month: 30 never occurs in month 2, so the expression can never fire"),
        .init("0 0 31 4,6,9,11 *", "day-of-month: 31 never occurs in month 4,6,9,11, so the expression can never fire"),
        .init("0 0 30-31 feb *", "day-of-month: 30-31 never occurs in month feb, so the expression can never fire"),
        .init("0 0 30 2 */2", "day-of-month: 30 never occurs in month 2, so the expression can never fire"),
        .init(
            longestValid + " ",  // trailing space counts: the limit applies to the raw input
            "expression is too long (257 characters, at most 256)"
        ),
        .init(String(repeating: "*", count: 100_000), "expression is too long (100000 characters, at most 256)"),
        .init("0 0 * * *\u{00A0}", "non-ASCII character U+00A0 is not allowed"),
        .init("0 0 * * \u{FF0A}", "non-ASCII character U+FF0A is not allowed"),
        .init("0 0 * * 1\u{1F600}", "non-ASCII character U+1F600 is not allowed"),
        .init("0\u{0}0 * * *", "control character U+0000 is not allowed"),
        .init("0 0 * * *\u{7F}", "control character U+007F is not allowed"),
    ]

    @Test("accepts and normalizes", arguments: accepted)
    func accepts(_ example: Accepted) throws {
        let expression = try CronExpression(example.input)
        #expect(expression.description == example.normalized)
        // The normalized text must itself parse to the same expression, since
        // it is what gets stored and sent to agents.
        #expect(try CronExpression(expression.description) == expression)
    }

    @Test("rejects with a precise reason", arguments: rejected)
    func rejects(_ example: Rejected) {
        #expect(throws: CronParseError(reason: example.reason)) {
            try CronExpression(example.input)
        }
    }

    @Test func errorDescriptionCarriesTheReason() {
        let error = CronParseError(reason: "minute: 61 is out of range 0-59")
        #expect(error.description == "invalid cron expression: minute: 61 is out of range 0-59")
    }

    @Test func typedThrowsExposeTheReason() {
        do {
            _ = try CronExpression("0 0 * *")
            Issue.record("expected a parse error")
        } catch {
            // `error` is statically a CronParseError: no cast needed.
            #expect(error.reason == "expected 5 fields, got 4")
        }
    }

    @Test func equalityIsOnNormalizedText() throws {
        #expect(try CronExpression("0 0 * jan mon") == CronExpression(" 0  0 * JAN MON "))
        #expect(try CronExpression("0 0 * * 1") != CronExpression("0 0 * * 2"))
        #expect(try CronExpression("@DAILY") == CronExpression("@daily"))
    }

    @Test("names, numbers and 0/7 for Sunday mean the same days")
    func equivalentSpellings() throws {
        let pairs = [
            ("0 0 * * 7", "0 0 * * 0"),
            ("0 0 * * SUN", "0 0 * * 0"),
            ("0 0 * * mon-fri", "0 0 * * 1-5"),
            ("0 0 * * 5-7", "0 0 * * 0,5,6"),
            ("0 0 1 jan-mar *", "0 0 1 1-3 *"),
            ("30 */6 * * *", "30 0,6,12,18 * * *"),
            ("10/20 * * * *", "10-59/20 * * * *"),
            ("*/7 * * * *", "0,7,14,21,28,35,42,49,56 * * * *"),
        ]
        for (left, right) in pairs {
            #expect(try CronExpression(left).fields == CronExpression(right).fields, "\(left) vs \(right)")
        }
    }

    @Test(
        "macros run exactly like their expansions",
        arguments: [
            ("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
        ]
    )
    func macroExpansion(macro: String, expansion: String) throws {
        let start = Date(timeIntervalSince1970: 1_735_000_000)
        for zoneName in ["UTC", "Europe/Berlin", "Australia/Lord_Howe"] {
            let zone = try #require(TimeZone(identifier: zoneName))
            #expect(
                try CronExpression(macro).nextRuns(after: start, in: zone, count: 10)
                    == CronExpression(expansion).nextRuns(after: start, in: zone, count: 10)
            )
        }
    }
}
