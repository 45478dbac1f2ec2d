// Why a hand-written JSON scanner?
//
// `stats`, `retention_policy` and `options` must reach the store byte for
// byte as the sender wrote them (SPEC §6), the way Go's json.RawMessage keeps
// them. Foundation's JSONDecoder only hands out decoded values, never the
// source text of a value, and JSONEncoder cannot splice pre-encoded text into
// its output. The server also decodes more than 20,000 log lines a second, so
// one validating pass that records where every value starts and ends — and
// lets the payload readers materialize only the fields they need — is both
// the simplest correct tool and the cheapest one.

/// A syntax error found by ``JSONSpanScanner``.
///
/// The description names the byte offset and at most one offending character,
/// never a slice of the input, because it is sent back to agents.
struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset into the scanned input where the problem was found.
    let offset: Int
    /// What is wrong, for a human.
    let problem: String

    var description: String { "\(problem) at offset \(offset)" }
}

/// One JSON value in a scanned document, stored in document order.
///
/// Containers are followed by their descendants; `subtreeEnd` is the index
/// of the first node after them, so a reader can skip a member without
/// looking inside it.
struct JSONNode: Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        case null, `true`, `false`, number, string, array, object
    }

    var kind: Kind
    /// For strings: the text contains at least one backslash escape.
    /// For numbers: the literal has a fraction or an exponent.
    var flag: Bool
    /// Byte offset of the first byte of the value (the quote, for strings).
    var start: Int
    /// Byte offset one past the last byte of the value.
    var end: Int
    /// Index of the first node that is not part of this value.
    var subtreeEnd: Int
    /// Number of elements (arrays) or members (objects); 0 for scalars.
    var count: Int
}

/// Validates a JSON document and records the byte span of every value.
///
/// The result is a flat list of ``JSONNode``s; an object's children are its
/// key and value nodes, alternating. Nesting is capped at
/// ``JSONSpanScanner/maxDepth`` so hostile input cannot exhaust the stack.
struct JSONSpanScanner {
    /// Deepest nesting of arrays and objects accepted.
    static let maxDepth = 64

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var nodes: [JSONNode] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        nodes.reserveCapacity(32)
    }

    /// Scans one complete JSON document (surrounding whitespace allowed).
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> [JSONNode] {
        var scanner = JSONSpanScanner(bytes)
        scanner.skipWhitespace()
        try scanner.scanValue(depth: 0)
        scanner.skipWhitespace()
        if scanner.position != bytes.count {
            throw scanner.failure("unexpected data after the JSON value")
        }
        return scanner.nodes
    }

    // MARK: - Grammar

    private mutating func scanValue(depth: Int) throws(JSONSyntaxError) {
        guard position < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try scanObject(depth: depth + 1)
        case UInt8(ascii: "["): try scanArray(depth: depth + 1)
        case UInt8(ascii: "\""): try scanString()
        case UInt8(ascii: "t"): try scanLiteral("true", kind: .true)
        case UInt8(ascii: "f"): try scanLiteral("false", kind: .false)
        case UInt8(ascii: "n"): try scanLiteral("null", kind: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
        default: throw failure("unexpected \(Self.describe(bytes[position]))")
        }
    }

    private mutating func scanObject(depth: Int) throws(JSONSyntaxError) {
        guard depth <= Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth) levels") }
        let index = beginContainer(.object)
        position += 1  // {
        skipWhitespace()
        var count = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return endContainer(index, count: 0)
        }
        while true {
            guard position < bytes.count else { throw failure("unexpected end of input in object") }
            guard bytes[position] == UInt8(ascii: "\"") else {
                throw failure("expected a member name (string), found \(Self.describe(bytes[position]))")
            }
            try scanString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after member name")
            skipWhitespace()
            try scanValue(depth: depth)
            count += 1
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of input in object") }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return endContainer(index, count: count)
            default:
                throw failure("expected ',' or '}' in object, found \(Self.describe(bytes[position]))")
            }
        }
    }

    private mutating func scanArray(depth: Int) throws(JSONSyntaxError) {
        guard depth <= Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth) levels") }
        let index = beginContainer(.array)
        position += 1  // [
        skipWhitespace()
        var count = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return endContainer(index, count: 0)
        }
        while true {
            try scanValue(depth: depth)
            count += 1
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of input in array") }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return endContainer(index, count: count)
            default:
                throw failure("expected ',' or ']' in array, found \(Self.describe(bytes[position]))")
            }
        }
    }

    private mutating func scanString() throws(JSONSyntaxError) {
        let start = position
        position += 1  // opening quote
        var hasEscapes = false
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                nodes.append(
                    JSONNode(
                        kind: .string,
                        flag: hasEscapes,
                        start: start,
                        end: position,
                        subtreeEnd: nodes.count + 1,
                        count: 0
                    )
                )
                return
            case UInt8(ascii: "\\"):
                hasEscapes = true
                position += 1
                guard position < bytes.count else { break }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    for _ in 0..<4 {
                        guard position < bytes.count else { break }
                        guard Self.hexValue(bytes[position]) != nil else {
                            throw failure("invalid \\u escape in string")
                        }
                        position += 1
                    }
                default:
                    throw failure("invalid escape sequence in string")
                }
            case 0..<0x20:
                throw failure("unescaped control character in string")
            default:
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func scanNumber() throws(JSONSyntaxError) {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, Self.isDigit(bytes[position]) else { throw failure("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            skipDigits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < bytes.count, Self.isDigit(bytes[position]) else {
                throw failure("invalid number: no digits after '.'")
            }
            skipDigits()
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, Self.isDigit(bytes[position]) else {
                throw failure("invalid number: no digits in exponent")
            }
            skipDigits()
        }
        nodes.append(
            JSONNode(
                kind: .number,
                flag: !isInteger,
                start: start,
                end: position,
                subtreeEnd: nodes.count + 1,
                count: 0
            )
        )
    }

    private mutating func scanLiteral(_ literal: StaticString, kind: JSONNode.Kind) throws(JSONSyntaxError) {
        let start = position
        let length = literal.utf8CodeUnitCount
        guard bytes.count - position >= length else { throw failure("invalid literal") }
        let matches = literal.withUTF8Buffer { expected in
            (0..<length).allSatisfy { bytes[start + $0] == expected[$0] }
        }
        guard matches else { throw failure("invalid literal") }
        position += length
        nodes.append(
            JSONNode(
                kind: kind,
                flag: false,
                start: start,
                end: position,
                subtreeEnd: nodes.count + 1,
                count: 0
            )
        )
    }

    // MARK: - Helpers

    private mutating func beginContainer(_ kind: JSONNode.Kind) -> Int {
        nodes.append(JSONNode(kind: kind, flag: false, start: position, end: position, subtreeEnd: 0, count: 0))
        return nodes.count - 1
    }

    private mutating func endContainer(_ index: Int, count: Int) {
        nodes[index].end = position
        nodes[index].subtreeEnd = nodes.count
        nodes[index].count = count
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard position < bytes.count else { throw failure("unexpected end of input, expected \(what)") }
        guard bytes[position] == byte else {
            throw failure("expected \(what), found \(Self.describe(bytes[position]))")
        }
        position += 1
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): position += 1
            default: return
            }
        }
    }

    private mutating func skipDigits() {
        while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
    }

    private func failure(_ problem: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: min(position, bytes.count), problem: problem)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Names one input byte for an error message without echoing input text.
    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F && byte != UInt8(ascii: "'") {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}
