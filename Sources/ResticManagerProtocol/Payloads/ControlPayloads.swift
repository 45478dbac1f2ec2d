/// `ack`: the server has committed the effect of these agent messages; the
/// agent may drop them from its outbox. Acks may be batched.
public struct AckPayload: Sendable, Equatable {
    /// Envelope ids of the acknowledged messages.
    public var ids: [String]

    public init(ids: [String]) {
        self.ids = ids
    }
}

extension AckPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        ids = try object.strings("ids")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.strings("ids", ids)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `error`: a message was refused. With ``refID`` set, it names the refused
/// message, and for `bad_message`, `unknown_type` and `forbidden` the agent
/// drops that message from its outbox instead of replaying it forever.
public struct ErrorPayload: Sendable, Equatable {
    /// An ``ErrorCode`` raw value, kept as a string so that codes from newer
    /// peers still decode.
    public var code: String
    public var message: String
    /// The `id` of the message this error answers, if any.
    public var refID: String?

    public init(code: String, message: String, refID: String? = nil) {
        self.code = code
        self.message = message
        self.refID = refID
    }

    public init(code: ErrorCode, message: String, refID: String? = nil) {
        self.init(code: code.rawValue, message: message, refID: refID)
    }

    /// ``code`` as an ``ErrorCode``, or nil for a code this side does not know.
    public var knownCode: ErrorCode? { ErrorCode(rawValue: code) }
}

extension ErrorPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        code = try object.string("code")
        message = try object.string("message")
        refID = try object.optionalString("ref_id")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("code", code)
        writer.string("message", message)
        writer.omitEmptyString("ref_id", refID)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}
