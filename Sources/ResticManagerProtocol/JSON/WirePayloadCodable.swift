/// Gives every ``WirePayload`` a `Codable` conformance with the same Go
/// semantics as the envelope codec, so that other coders produce the wire
/// shape too: the HTTP API's `JSONEncoder`, and the agent's own rows
/// (stored schedules and jobs).
///
/// Frames do not take this path: ``EnvelopeCodec`` writes them, and the
/// agent's outbox stores its output as is. Here the payload is written by
/// ``JSONWriter`` and scanned once (encoding), or collected as compact text
/// through ``RawJSON`` and read by the payload's own reader (decoding), which
/// is slower and does not keep raw JSON members byte for byte.
enum WirePayloadCodable {
    static func decode<T: WirePayload>(_ type: T.Type, from decoder: any Decoder) throws -> T {
        var text = try RawJSON(from: decoder).text
        guard text.utf8.first == UInt8(ascii: "{") else {
            throw DecodingError.typeMismatch(
                T.self,
                .init(codingPath: decoder.codingPath, debugDescription: "expected a JSON object")
            )
        }
        let result: Result<T, PayloadShapeError> = text.withUTF8 { bytes in
            // The text was just written by JSONWriter, so it scans.
            guard let document = try? JSONDocument(scanning: bytes) else {
                return .failure(PayloadShapeError(path: "", problem: "internal error: unreadable JSON"))
            }
            do throws(PayloadShapeError) {
                return .success(try T(reading: JSONObjectReader(document: document, index: 0, path: "")))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let payload):
            return payload
        case .failure(let error):
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.reason)
            )
        }
    }

    static func encode<T: WirePayload>(_ payload: T, to encoder: any Encoder) throws {
        var writer = JSONWriter()
        writer.object { payload.writeMembers(to: &$0) }
        try writer.bytes.withUnsafeBufferPointer { bytes in
            try JSONDocumentValue(document: JSONDocument(scanning: bytes), index: 0).encode(to: encoder)
        }
    }
}
