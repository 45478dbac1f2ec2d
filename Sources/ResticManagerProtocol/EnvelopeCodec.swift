import Foundation

/// Why a frame could not be turned into an ``Envelope``.
///
/// ``description`` is safe to send back to the peer in an `error` message:
/// it names the offending field and quotes at most 64 characters of input.
public enum EnvelopeDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not well-formed JSON, not a JSON object, too big, or an envelope
    /// field of the wrong kind (an `id` that is not a non-empty string, a
    /// `type` that is not a string).
    case malformedJSON(reason: String)
    /// A well-formed envelope whose `type` this side does not know
    /// (shortened to 64 characters).
    case unknownType(String, id: String?)
    /// A known type whose `ts` or payload has the wrong shape; `reason`
    /// names the field, e.g. `payload.seq: expected integer, found string`.
    case badPayload(type: MessageType, id: String?, reason: String)
    /// A required envelope field (`id`, `type`, `ts`, `payload`) is absent
    /// or `null`.
    case missingField(String, id: String?)

    /// The envelope id of the refused message when it could be read: use it
    /// as the `ref_id` of the `error` reply.
    public var id: String? {
        switch self {
        case .malformedJSON: nil
        case .unknownType(_, let id), .badPayload(_, let id, _), .missingField(_, let id): id
        }
    }

    /// The `error` code to answer with.
    public var errorCode: ErrorCode {
        switch self {
        case .unknownType: .unknownType
        case .malformedJSON, .badPayload, .missingField: .badMessage
        }
    }

    public var description: String {
        switch self {
        case .malformedJSON(let reason): "malformed message: \(reason)"
        case .unknownType(let type, _): "unknown message type \(ErrorText.quote(type))"
        case .badPayload(let type, _, let reason): "bad \(type.rawValue) message: \(reason)"
        case .missingField(let field, _): "missing envelope field \"\(field)\""
        }
    }

    /// The `error` payload that answers the refused message.
    public var errorPayload: ErrorPayload {
        ErrorPayload(code: errorCode, message: description, refID: id)
    }
}

/// Turns WebSocket text frames into ``Envelope``s and back.
///
/// Decoding makes one validating pass over the frame (``JSONSpanScanner``)
/// and then reads each field straight from the bytes: no `JSONDecoder`, no
/// intermediate dictionaries, and only the strings a payload keeps are
/// allocated. Raw JSON fields keep the sender's exact text. Encoding writes
/// Go-shaped compact JSON: envelope members in the order `type`, `id`,
/// `ts`, `payload`, payload members in Go struct order, `omitempty` applied.
public enum EnvelopeCodec {
    /// Decodes one frame.
    public static func decode(_ text: String) throws(EnvelopeDecodingError) -> Envelope {
        let result = text.utf8.withContiguousStorageIfAvailable { decodeCatching($0) }
        return try (result ?? Array(text.utf8).withUnsafeBufferPointer { decodeCatching($0) }).get()
    }

    /// Decodes one frame given as UTF-8 bytes.
    public static func decode(_ bytes: [UInt8]) throws(EnvelopeDecodingError) -> Envelope {
        try bytes.withUnsafeBufferPointer { decodeCatching($0) }.get()
    }

    /// Decodes one frame given as UTF-8 bytes.
    public static func decode(_ data: Data) throws(EnvelopeDecodingError) -> Envelope {
        try data.withUnsafeBytes { decodeCatching($0.bindMemory(to: UInt8.self)) }.get()
    }

    /// Encodes an envelope as one compact JSON text frame.
    public static func encode(_ envelope: Envelope) -> String {
        var writer = JSONWriter()
        writer.object { writer in
            writer.string("type", envelope.message.type.rawValue)
            writer.string("id", envelope.id)
            writer.time("ts", envelope.ts)
            writer.key("payload")
            let payload = envelope.message.payload
            writer.object { payload.writeMembers(to: &$0) }
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    // MARK: - Decoding

    // The unsafe-buffer closures above are untyped-`rethrows`; carrying a
    // Result through them keeps the public functions' typed throws.
    private static func decodeCatching(
        _ bytes: UnsafeBufferPointer<UInt8>
    ) -> Result<Envelope, EnvelopeDecodingError> {
        do {
            return .success(try decode(bytes: bytes))
        } catch {
            return .failure(error)
        }
    }

    private static func decode(bytes: UnsafeBufferPointer<UInt8>) throws(EnvelopeDecodingError) -> Envelope {
        guard bytes.count <= FrameLimits.maxFrameBytes else {
            throw .malformedJSON(reason: "message larger than \(FrameLimits.maxFrameBytes) bytes")
        }
        let document: JSONDocument
        do {
            document = try JSONDocument(scanning: bytes)
        } catch {
            throw .malformedJSON(reason: error.description)
        }
        guard document.nodes[0].kind == .object else {
            throw .malformedJSON(reason: "expected a JSON object, found \(document.kindName(at: 0))")
        }
        let envelope = EnvelopeMembers(document: document)

        // The id first: every later error should carry it, so the sender
        // can drop the refused message from its outbox.
        guard let idIndex = envelope.id else { throw .missingField("id", id: nil) }
        guard document.nodes[idIndex].kind == .string else {
            throw .malformedJSON(reason: "id: expected string, found \(document.kindName(at: idIndex))")
        }
        let id = document.string(at: idIndex)
        guard !id.isEmpty, id.utf8.count <= FrameLimits.maxMessageIDBytes else {
            throw .malformedJSON(
                reason: "id: expected a non-empty string of at most \(FrameLimits.maxMessageIDBytes) bytes"
            )
        }

        guard let typeIndex = envelope.type else { throw .missingField("type", id: id) }
        guard document.nodes[typeIndex].kind == .string else {
            throw .malformedJSON(reason: "type: expected string, found \(document.kindName(at: typeIndex))")
        }
        let typeName = document.string(at: typeIndex)
        guard let type = MessageType(rawValue: typeName) else {
            throw .unknownType(ErrorText.truncate(typeName), id: id)
        }

        guard let tsIndex = envelope.ts else { throw .missingField("ts", id: id) }
        guard document.nodes[tsIndex].kind == .string else {
            throw .badPayload(
                type: type,
                id: id,
                reason: "ts: expected RFC 3339 time string, found \(document.kindName(at: tsIndex))"
            )
        }
        guard let ts = document.withStringBytes(at: tsIndex, { RFC3339.parse(utf8: $0) }) else {
            throw .badPayload(
                type: type,
                id: id,
                reason: "ts: expected RFC 3339 time, found \(ErrorText.quote(document.string(at: tsIndex)))"
            )
        }

        guard let payloadIndex = envelope.payload else { throw .missingField("payload", id: id) }
        guard document.nodes[payloadIndex].kind == .object else {
            throw .badPayload(
                type: type,
                id: id,
                reason: "payload: expected object, found \(document.kindName(at: payloadIndex))"
            )
        }
        do {
            let reader = JSONObjectReader(document: document, index: payloadIndex, path: "payload")
            return Envelope(id: id, ts: ts, message: try Message(type: type, reading: reader))
        } catch {
            throw .badPayload(type: type, id: id, reason: error.reason)
        }
    }

    /// Node indexes of the four envelope members, found in one pass; nil
    /// when a member is missing or `null`.
    private struct EnvelopeMembers {
        var type: Int?
        var id: Int?
        var ts: Int?
        var payload: Int?

        init(document: JSONDocument) {
            let nodes = document.nodes
            var keyIndex = 1
            while keyIndex < nodes[0].subtreeEnd {
                let valueIndex = keyIndex + 1
                // Last duplicate wins, as in Go.
                if document.keyEquals(at: keyIndex, "type") {
                    type = valueIndex
                } else if document.keyEquals(at: keyIndex, "id") {
                    id = valueIndex
                } else if document.keyEquals(at: keyIndex, "ts") {
                    ts = valueIndex
                } else if document.keyEquals(at: keyIndex, "payload") {
                    payload = valueIndex
                }
                keyIndex = nodes[valueIndex].subtreeEnd
            }
            // `null` means absent, as for payload members.
            func present(_ index: Int?) -> Int? { index.flatMap { nodes[$0].kind == .null ? nil : $0 } }
            type = present(type)
            id = present(id)
            ts = present(ts)
            payload = present(payload)
        }
    }
}
