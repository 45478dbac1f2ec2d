import Foundation
import Testing

@testable import ResticManagerProtocol

private func scan(_ text: String) throws(JSONSyntaxError) -> [JSONNode] {
    var text = text
    let result = text.withUTF8 { bytes -> Result<[JSONNode], JSONSyntaxError> in
        do throws(JSONSyntaxError) {
            return .success(try JSONSpanScanner.scan(bytes))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

private func spanText(_ text: String, _ node: JSONNode) -> String {
    String(decoding: Array(text.utf8)[node.start..<node.end], as: UTF8.self)
}

@Suite("JSONSpanScanner: validation and raw spans")
struct JSONSpanScannerTests {
    @Test(
        "accepts well-formed JSON",
        arguments: [
            "{}", "[]", "null", "true", "false", "0", "-0", "1", "-1", "12.5", "1e10", "1E+10", "1e-10", "-0.0e0",
            "123456789012345678901234567890", #""""#, #""a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00""#,
            " \t\r\n{ \"a\" : [ 1 , { } , [ ] , \"x\" ] } \n", #"{"a":{"b":{"c":[null,true,false]}}}"#,
            "\"é😀\"", #"{"":1}"#, #"[1,"two",{"three":[3]}]"#,
        ]
    )
    func accepts(_ text: String) {
        #expect(throws: Never.self) { try scan(text) }
    }

    @Test(
        "rejects truncated and invalid JSON",
        arguments: [
            "", " ", "{", "}", "[", "]", #"{"a""#, #"{"a":"#, #"{"a":1"#, #"{"a":1,"#, "[1,2", #""abc"#, #""abc\"#,
            "[1,]", #"{"a":1,}"#, "[,1]", "{,}", #"{"a" 1}"#, #"{"a":1 "b":2}"#, "[1 2]", "{a:1}", "{'a':1}",
            "01", "-", "+1", "1.", ".5", "1e", "1e+", "0x10", "--1", "1.2.3", "NaN", "Infinity", "-Infinity",
            "tru", "nul", "fals", "True", "nulll", "\"a\u{01}b\"", "\"tab\there\"", #""\x""#, #""\u12G4""#,
            #""\u12""#, "{} x", "[] []", "1 2", "\"a\" \"b\"", "{\"a\":1}}", "[[]]]", "\u{FEFF}{}",
        ]
    )
    func rejects(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try scan(text) }
    }

    @Test("errors say where, not what the input was")
    func errorMessages() {
        #expect(throws: JSONSyntaxError(offset: 6, problem: "unexpected end of input")) { try scan(#"{"a": "#) }
        #expect(throws: JSONSyntaxError(offset: 2, problem: "expected ',' or ']' in array, found '}'")) {
            try scan("[1}")
        }
        #expect(throws: JSONSyntaxError(offset: 3, problem: "unexpected '}'")) { try scan("[1,}") }
        #expect(throws: JSONSyntaxError(offset: 0, problem: "unexpected byte 0x01")) { try scan("\u{01}") }
        #expect(throws: JSONSyntaxError(offset: 3, problem: "unexpected data after the JSON value")) {
            try scan("{} x")
        }
        #expect(
            JSONSyntaxError(offset: 3, problem: "unterminated string").description == "unterminated string at offset 3"
        )
    }

    @Test("records the exact span of every member value")
    func spans() throws {
        let text = #"{ "a" : [1, {"x": "y"}] , "b":"\u00e9" ,"c" :  -1.5e3 , "d":{ } }"#
        let nodes = try scan(text)
        #expect(nodes[0].kind == .object)
        #expect(nodes[0].count == 4)
        #expect(nodes[0].subtreeEnd == nodes.count)
        var members: [(String, String)] = []
        var key = 1
        while key < nodes[0].subtreeEnd {
            members.append((spanText(text, nodes[key]), spanText(text, nodes[key + 1])))
            key = nodes[key + 1].subtreeEnd
        }
        #expect(members.map(\.0) == [#""a""#, #""b""#, #""c""#, #""d""#])
        #expect(members.map(\.1) == [#"[1, {"x": "y"}]"#, #""\u00e9""#, "-1.5e3", "{ }"])
    }

    @Test("flags strings with escapes and numbers with fractions or exponents")
    func flags() throws {
        let nodes = try scan(#"["plain","esc\n",1,1.5,2e3]"#)
        #expect(nodes.map(\.flag) == [false, false, true, false, true, true])
        #expect(nodes[0].count == 5)
    }

    @Test("nesting is capped at 64 levels")
    func depthCap() {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try scan(ok) }
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntaxError(offset: 64, problem: "nesting deeper than 64 levels")) { try scan(tooDeep) }
        let objects = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(throws: JSONSyntaxError.self) { try scan(objects) }
        // Far deeper input fails fast instead of overflowing the stack.
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONSyntaxError.self) { try scan(hostile) }
    }

    @Test("string contents are unescaped; lone surrogates become U+FFFD")
    func unescaping() throws {
        let cases: [(String, String)] = [
            (#""plain""#, "plain"),
            (#""a\"b\\c\/d""#, "a\"b\\c/d"),
            (#""\b\f\n\r\t""#, "\u{08}\u{0C}\n\r\t"),
            (#""\u00e9\u00C9""#, "éÉ"),
            (#""\uD83D\uDE00""#, "😀"),
            (#""\uD83D""#, "\u{FFFD}"),
            (#""\uD83Dx""#, "\u{FFFD}x"),
            (#""\uDE00\uD83D""#, "\u{FFFD}\u{FFFD}"),
            (#""\uD83D\u0041""#, "\u{FFFD}A"),
            (#""\u0000""#, "\u{00}"),
        ]
        for (json, expected) in cases {
            #expect(
                try withDocument(json) { $0.nodes[0].kind == .string ? $0.string(at: 0) : nil } == expected, "\(json)"
            )
        }
    }

    @Test("the document keeps member order and number literals")
    func memberOrderAndLiterals() throws {
        let json = #"{"z":1,"a":[2.50,-0,1e400],"m":{"k":null}}"#
        let names = try withDocument(json) { document in childIndexes(document, 0).map { document.string(at: $0) } }
        #expect(names == ["z", "a", "m"])
        #expect(try rawText(in: json, at: ["z"]) == "1")
        #expect(try ["0", "1", "2"].map { try rawText(in: json, at: ["a", $0]) } == ["2.50", "-0", "1e400"])
        #expect(try rawText(in: json, at: ["m", "k"]) == "null")
        #expect(try compactJSON(json) == #"{"z":1,"a":[2.50,-0,1e400],"m":{"k":null}}"#)
    }

    @Test("integer literals convert exactly, with overflow detected")
    func integers() throws {
        let text =
            "[0,-1,9223372036854775807,-9223372036854775808,9223372036854775808,-9223372036854775809,1.0,18446744073709551616]"
        var copy = text
        let values = try copy.withUTF8 { bytes in
            let document = try JSONDocument(scanning: bytes)
            var result: [Int64?] = []
            var index = 1
            while index < document.nodes[0].subtreeEnd {
                result.append(document.int64(at: index))
                index = document.nodes[index].subtreeEnd
            }
            return result
        }
        #expect(values == [0, -1, .max, .min, nil, nil, nil, nil])
    }
}
