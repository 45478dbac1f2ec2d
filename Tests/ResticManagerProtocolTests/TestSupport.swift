import Foundation
import Testing

@testable import ResticManagerProtocol

/// Parses an RFC 3339 fixture time, failing the test when it does not parse.
func date(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Date {
    guard let parsed = RFC3339.parse(text) else {
        Issue.record("fixture time \(text) does not parse", sourceLocation: sourceLocation)
        return .distantPast
    }
    return parsed
}

/// The exact source text of the value at `path` in `json`; a path step is
/// a member name, or a decimal index inside an array.
func rawText(in json: String, at path: [String]) throws -> String? {
    var json = json
    return try json.withUTF8 { bytes throws -> String? in
        let document = try JSONDocument(scanning: bytes)
        var index = 0
        for name in path {
            var found: Int?
            switch document.nodes[index].kind {
            case .object:
                var key = index + 1
                while key < document.nodes[index].subtreeEnd {
                    if document.string(at: key) == name { found = key + 1 }
                    key = document.nodes[key + 1].subtreeEnd
                }
            case .array:
                guard let position = Int(name) else { return nil }
                var element = index + 1
                var count = 0
                while element < document.nodes[index].subtreeEnd {
                    if count == position { found = element }
                    element = document.nodes[element].subtreeEnd
                    count += 1
                }
            default:
                return nil
            }
            guard let found else { return nil }
            index = found
        }
        return document.rawText(at: index)
    }
}

/// Whether two JSON documents have the same shape as Go would see it:
/// the same members in the same order, equal numbers, equal strings — and
/// strings that are both RFC 3339 times compare as instants, because the
/// encoder writes UTC where the fixture may use an offset.
func sameJSONShape(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.number(let a), .number(let b)): return a == b || (Double(a) != nil && Double(a) == Double(b))
    case (.string(let a), .string(let b)):
        if a == b { return true }
        guard let dateA = RFC3339.parse(a), let dateB = RFC3339.parse(b) else { return false }
        return dateA == dateB
    case (.array(let a), .array(let b)):
        return a.count == b.count && zip(a, b).allSatisfy { sameJSONShape($0, $1) }
    case (.object(let a), .object(let b)):
        return a.count == b.count
            && zip(a, b).allSatisfy { $0.key == $1.key && sameJSONShape($0.value, $1.value) }
    default: return false
    }
}

/// Expects `actual` and `expected` to be JSON of the same shape.
func expectSameJSONShape(
    _ actual: String,
    _ expected: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let actualValue = try JSONValue.parse(actual)
    let expectedValue = try JSONValue.parse(expected)
    #expect(
        sameJSONShape(actualValue, expectedValue),
        "JSON differs:\n  actual:   \(actual)\n  expected: \(expected)",
        sourceLocation: sourceLocation
    )
}

/// Expects decoding to fail with exactly `expected`.
func expectDecodingError(
    _ json: String,
    _ expected: EnvelopeDecodingError,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(throws: expected, sourceLocation: sourceLocation) { try EnvelopeCodec.decode(json) }
}

/// The error decoding `json` throws, or nil (recording an issue) when it decodes.
func decodingError(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> EnvelopeDecodingError? {
    do {
        _ = try EnvelopeCodec.decode(json)
        Issue.record("expected decoding to fail", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
