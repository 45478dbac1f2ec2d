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
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        var writer = JSONWriter()
        value.write(to: &writer)
        self.init(verbatim: String(decoding: writer.bytes, as: UTF8.self))
    }

    public func encode(to encoder: any Encoder) throws {
        // `text` was validated when this value was made.
        let value = try JSONValue.parse(text)
        try value.encode(to: encoder)
    }
}
