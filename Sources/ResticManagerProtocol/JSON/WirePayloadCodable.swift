/// Gives every ``WirePayload`` a `Codable` conformance with the same Go
/// semantics as the envelope codec, so that other coders (the HTTP API's
/// `JSONEncoder`, an agent's outbox) produce the wire shape too.
///
/// This path goes through ``JSONValue`` and is slower than
/// ``EnvelopeCodec``; it is not used for WebSocket traffic.
enum WirePayloadCodable {
    static func decode<T: WirePayload>(_ type: T.Type, from decoder: any Decoder) throws -> T {
        let value = try JSONValue(from: decoder)
        guard case .object = value else {
            throw DecodingError.typeMismatch(
                T.self,
                .init(codingPath: decoder.codingPath, debugDescription: "expected a JSON object")
            )
        }
        var writer = JSONWriter()
        value.write(to: &writer)
        let result: Result<T, PayloadShapeError> = writer.bytes.withUnsafeBufferPointer { bytes in
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
        let value = try writer.bytes.withUnsafeBufferPointer { bytes in
            JSONValue(document: try JSONDocument(scanning: bytes), index: 0)
        }
        try value.encode(to: encoder)
    }
}
