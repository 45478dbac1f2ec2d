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

/// Calls `body` with `json` scanned.
func withDocument<R>(_ json: String, _ body: (JSONDocument) throws -> R) throws -> R {
    var json = json
    return try json.withUTF8 { bytes in try body(JSONDocument(scanning: bytes)) }
}

/// The node indexes of an array's elements, or of an object's member names
/// (each value follows its name).
func childIndexes(_ document: JSONDocument, _ index: Int) -> [Int] {
    var children: [Int] = []
    var child = index + 1
    while child < document.nodes[index].subtreeEnd {
        children.append(child)
        let isObject = document.nodes[index].kind == .object
        child = document.nodes[isObject ? child + 1 : child].subtreeEnd
    }
    return children
}

/// `json` written compact: number literals kept, strings re-escaped the
/// writer's way, members in document order — or, with `sortingMembers`,
/// sorted by name, for comparing with coders that do not keep member order.
func compactJSON(_ json: String, sortingMembers: Bool = false) throws -> String {
    func write(_ document: JSONDocument, _ index: Int, to writer: inout JSONWriter) {
        switch document.nodes[index].kind {
        case .null, .true, .false, .number: writer.writeRaw(RawJSON(verbatim: document.rawText(at: index)))
        case .string: writer.writeString(document.string(at: index))
        case .array: writer.array(childIndexes(document, index)) { write(document, $1, to: &$0) }
        case .object:
            var members = childIndexes(document, index).map { (name: document.string(at: $0), value: $0 + 1) }
            if sortingMembers { members.sort { $0.name < $1.name } }
            writer.object { writer in
                for member in members {
                    writer.key(member.name)
                    write(document, member.value, to: &writer)
                }
            }
        }
    }
    return try withDocument(json) { document in
        var writer = JSONWriter()
        write(document, 0, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// Whether two JSON documents have the same shape as Go would see it:
/// the same members in the same order, equal numbers, equal strings — and
/// strings that are both RFC 3339 times compare as instants, because the
/// encoder writes UTC where the fixture may use an offset.
func sameJSONShape(_ lhs: String, _ rhs: String) throws -> Bool {
    func same(_ a: JSONDocument, _ i: Int, _ b: JSONDocument, _ j: Int) -> Bool {
        switch (a.nodes[i].kind, b.nodes[j].kind) {
        case (.null, .null), (.true, .true), (.false, .false): return true
        case (.number, .number):
            let (x, y) = (a.rawText(at: i), b.rawText(at: j))
            return x == y || (Double(x) != nil && Double(x) == Double(y))
        case (.string, .string):
            let (x, y) = (a.string(at: i), b.string(at: j))
            if x == y { return true }
            guard let dateX = RFC3339.parse(x), let dateY = RFC3339.parse(y) else { return false }
            return dateX == dateY
        case (.array, .array):
            let (x, y) = (childIndexes(a, i), childIndexes(b, j))
            return x.count == y.count && zip(x, y).allSatisfy { same(a, $0, b, $1) }
        case (.object, .object):
            let (x, y) = (childIndexes(a, i), childIndexes(b, j))
            return x.count == y.count
                && zip(x, y).allSatisfy { a.string(at: $0) == b.string(at: $1) && same(a, $0 + 1, b, $1 + 1) }
        default: return false
        }
    }
    return try withDocument(lhs) { a in try withDocument(rhs) { b in same(a, 0, b, 0) } }
}

/// Expects `actual` and `expected` to be JSON of the same shape.
func expectSameJSONShape(
    _ actual: String,
    _ expected: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(
        try sameJSONShape(actual, expected),
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
