/// The wire protocol version this module speaks (SPEC §6).
///
/// Optional fields added to existing payloads (`timezone`, `schedule_id`,
/// `trigger`), the `ack` and `error` messages and the job kind `init` do
/// not change it.
public enum ProtocolVersion {
    /// The version agents announce in `hello`.
    public static let current = 1

    /// Versions the server accepts in `hello`; others are answered with
    /// ``ErrorCode/protocolVersionUnsupported`` and a close with
    /// ``CloseCode/protocolVersionUnsupported``.
    public static let supported: ClosedRange<Int> = 1...1
}

/// WebSocket close codes used by the protocol (SPEC §4, §6).
public enum CloseCode {
    /// `hello` announced a protocol version the server does not speak.
    public static let protocolVersionUnsupported: UInt16 = 4002
    /// More than 20 bad messages in a minute.
    public static let tooManyBadMessages: UInt16 = 4008
    /// A frame larger than ``FrameLimits/maxFrameBytes`` (RFC 6455's code).
    public static let messageTooBig: UInt16 = 1009
}

/// Size limits of the wire protocol.
public enum FrameLimits {
    /// Largest text frame either side accepts: 1 MiB.
    public static let maxFrameBytes = 1 << 20
    /// Longest envelope `id` accepted, in UTF-8 bytes.
    public static let maxMessageIDBytes = 128
}

/// The `code` of an `error` message.
///
/// ``ErrorPayload/code`` is a plain `String` so that codes added by newer
/// peers still decode; use ``ErrorPayload/knownCode`` to match on these.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
    /// Malformed JSON or a payload of the wrong shape.
    case badMessage = "bad_message"
    /// A `type` this side does not know.
    case unknownType = "unknown_type"
    /// The message is well-formed but not allowed (e.g. a job of another host).
    case forbidden
    /// `hello` announced an unsupported `protocol_version`.
    case protocolVersionUnsupported = "protocol_version_unsupported"
    /// The peer is sending too much; slow down.
    case rateLimited = "rate_limited"
    /// The receiver failed while handling a valid message; it may be retried.
    case `internal`
}
