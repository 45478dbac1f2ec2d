import Foundation
import Testing

@testable import ResticManagerProtocol

@Suite("RawJSON")
struct RawJSONTests {
    @Test(
        "keeps valid text exactly as given",
        arguments: [#"{"keep_daily": 7}"#, "  [1, 2]\n", "null", #""s""#, "-1.5e3", #"{"é":"\u00e9"}"#]
    )
    func keepsText(_ text: String) throws {
        #expect(try RawJSON(text: text).text == text)
    }

    @Test(
        "refuses text that is not one JSON value",
        arguments: ["", "{", #"{"a":1}{"b":2}"#, "keep_daily=7", "[1,]", "{'a':1}"]
    )
    func refusesInvalid(_ text: String) {
        #expect(throws: InvalidJSONError.self) { try RawJSON(text: text) }
    }

    @Test("the error names the problem, not the input")
    func errorMessage() {
        #expect(throws: InvalidJSONError(reason: "unexpected data after the JSON value at offset 8")) {
            try RawJSON(text: #"{"a":1} secret"#)
        }
        #expect(InvalidJSONError(reason: "x").description == "invalid JSON: x")
    }

    @Test("isNull is true only for the literal null")
    func isNull() throws {
        #expect(try RawJSON(text: "null").isNull)
        #expect(try !RawJSON(text: "{}").isNull)
        #expect(try !RawJSON(text: #""null""#).isNull)
    }

    @Test("through JSONEncoder/JSONDecoder the value survives semantically")
    func codable() throws {
        let raw = try RawJSON(text: #"{ "keep_last" : 3, "keep_tags": ["a", "\u00e9"], "prune": true, "ratio": 1.25 }"#)
        let data = try JSONEncoder().encode(raw)
        let decoded = try JSONDecoder().decode(RawJSON.self, from: data)
        #expect(
            try sameJSONShape(
                decoded.text,
                compactJSON(
                    #"{"keep_last":3,"keep_tags":["a","é"],"prune":true,"ratio":1.25}"#,
                    sortingMembers: true
                )
            )
        )
        #expect(!decoded.text.contains(" "))  // compact, since the original text is not available
    }
}
