/// A JSON value kept as the exact text the sender wrote, like Go's
/// `json.RawMessage`.
///
/// Used for `stats`, `retention_policy` and `options`, which the server
/// stores verbatim (SPEC §6). ``EnvelopeCodec`` captures the text byte for
/// byte when decoding and splices it back unchanged when encoding.
///
/// Through a generic `Encoder`/`Decoder` (e.g. `JSONEncoder` for the HTTP
/// API) the value is carried semantically instead: decoding stores compact
/// JSON text, encoding re-emits the parsed value. Only the envelope codec
/// preserves whitespace and escapes.
public struct RawJSON: Sendable, Hashable, CustomStringConvertible {
    /// The JSON text, exactly as written.
    public let text: String

    /// Wraps `text` after checking that it is one well-formed JSON value, so
    /// that splicing it into a frame can never produce invalid JSON.
    public init(text: String) throws(InvalidJSONError) {
        var copy = text
        let problem = copy.withUTF8 { bytes -> JSONSyntaxError? in
            do throws(JSONSyntaxError) {
                _ = try JSONSpanScanner.scan(bytes)
                return nil
            } catch {
                return error
            }
        }
        if let problem { throw InvalidJSONError(reason: problem.description) }
        self.text = text
    }

    /// Wraps text already validated by ``JSONSpanScanner``.
    init(verbatim text: String) {
        self.text = text
    }

    /// Whether the value is the literal `null` (Go keeps a `null` raw
    /// message as the text `null`, so this can arrive on the wire).
    public var isNull: Bool { text.utf8.elementsEqual("null".utf8) }

    public var description: String { text }
}

/// Text handed to ``RawJSON/init(text:)`` is not one well-formed JSON value.
public struct InvalidJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and at which byte offset; never quotes the input.
    public let reason: String

    public var description: String { "invalid JSON: \(reason)" }
}

extension RawJSON: Codable {
    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Writes what `decoder` holds as compact JSON: nested values are
    /// decoded as `RawJSON` in turn and spliced in. Generic decoders do not
    /// promise member order, so members are sorted for determinism.
    public init(from decoder: any Decoder) throws {
        var writer = JSONWriter()
        if let single = try? decoder.singleValueContainer(), Self.writeScalar(single, to: &writer) {
            self.init(verbatim: String(decoding: writer.bytes, as: UTF8.self))
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [RawJSON] = []
            while !array.isAtEnd { elements.append(try array.decode(RawJSON.self)) }
            writer.array(elements) { $0.writeRaw($1) }
        } else {
            let object = try decoder.container(keyedBy: MemberKey.self)
            let members = try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map { key in
                (key.stringValue, try object.decode(RawJSON.self, forKey: key))
            }
            writer.object { writer in
                for (key, value) in members {
                    writer.key(key)
                    writer.writeRaw(value)
                }
            }
        }
        self.init(verbatim: String(decoding: writer.bytes, as: UTF8.self))
    }

    /// Writes a scalar and returns true, or returns false (writing nothing)
    /// when the container holds an array or object.
    private static func writeScalar(_ single: any SingleValueDecodingContainer, to writer: inout JSONWriter) -> Bool {
        if single.decodeNil() {
            writer.writeNull()
        } else if let value = try? single.decode(Bool.self) {
            writer.writeBool(value)
        } else if let value = try? single.decode(Int64.self) {
            writer.writeInteger(value)
        } else if let value = try? single.decode(Double.self) {
            writer.writeDouble(value)
        } else if let value = try? single.decode(String.self) {
            writer.writeString(value)
        } else {
            return false
        }
        return true
    }

    public func encode(to encoder: any Encoder) throws {
        var text = text
        // `text` was validated when this value was made, so it scans.
        try text.withUTF8 { bytes in
            try JSONDocumentValue(document: JSONDocument(scanning: bytes), index: 0).encode(to: encoder)
        }
    }
}
