import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// How an email channel protects its connection to the SMTP server.
enum SMTPSecurity: String, Sendable, Codable, CaseIterable {
    /// Clear text, then TLS after `STARTTLS` (port 587). Never falls back to clear text.
    case starttls
    /// TLS from the first byte (port 465).
    case tls
    /// Clear text throughout; credentials go only to a loopback relay.
    case none
}

/// Where an email channel's SMTP server is and how to log in to it.
struct SMTPServerSettings: Sendable {
    var host: String
    var port: Int
    var security: SMTPSecurity
    var username: String?
    var password: String?
}

/// One plain-text email, as the notification delivery service composes it.
struct EmailMessage: Sendable {
    var from: String
    var to: [String]
    var subject: String
    var body: String
    /// `local@domain`, without the angle brackets the header adds.
    var messageID: String
    var date: Date
}

/// Why an email was not sent, worded for a delivery's `last_error`.
///
/// Never contains the password or the AUTH exchange: server replies are
/// scrubbed of both before they are quoted.
struct SMTPError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable { case invalidMessage, insecure, connection, tls, rejected, authentication, protocolViolation, timeout }
    var kind: Kind
    /// The server's reply code, when the server refused something (4xx is temporary, 5xx permanent).
    var replyCode: Int?
    var description: String
}

/// Sends one email over SMTP (RFC 5321) with STARTTLS (RFC 3207) or implicit TLS and AUTH PLAIN/LOGIN (RFC 4954).
enum SMTPClient {
    /// Delivers `message` or throws an `SMTPError`; `timeout` bounds the whole exchange, connecting included.
    ///
    /// Once the server has accepted the message, nothing that follows (QUIT, a late close) is reported as a
    /// failure: a retry would send a duplicate.
    static func send(
        _ message: EmailMessage,
        via server: SMTPServerSettings,
        tlsConfiguration: TLSConfiguration,
        timeout: Duration = .seconds(30)
    ) async throws {
        try validate(message, server)
        let tls: NIOSSLContext?
        do {
            tls = server.security == .none ? nil : try NIOSSLContext(configuration: tlsConfiguration)
        } catch {
            throw SMTPError(kind: .tls, description: "The TLS configuration for email is unusable (\(clean(error))).")
        }
        let endpoint = "\(server.host):\(server.port)"
        let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
        do {
            channel = try await connect(server, tls: tls, deadline: .now() + TimeAmount(timeout))
        } catch {
            throw SMTPError(kind: .connection, description: "Could not connect to \(endpoint) (\(clean(error))); check the host and port.")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(
                server: server, endpoint: endpoint, timeout: timeout, channel: channel.channel,
                replies: inbound.makeAsyncIterator(), outbound: outbound
            )
            try await session.deliver(message, tls: tls)
        }
    }

    private static func connect(
        _ server: SMTPServerSettings, tls: NIOSSLContext?, deadline: NIODeadline
    ) async throws -> NIOAsyncChannel<SMTPReply, ByteBuffer> {
        let serverName = sniName(server.host)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(deadline - .now())
            .connect(host: server.host, port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The deadline is a timer on the channel rather than a task racing the session: it cuts off a
                    // stalled handshake or read by closing the socket whatever the session awaits, and the session
                    // alone knows whether the message was already accepted (then a late timeout is no failure).
                    let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                        channel.pipeline.fireErrorCaught(DeadlineExceeded())
                        channel.close(promise: nil)
                    }
                    channel.closeFuture.whenComplete { _ in timer.cancel() }
                    let pipeline = channel.pipeline.syncOperations
                    if server.security == .tls, let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try pipeline.addHandler(SMTPReplyDecoder())
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Belt and braces behind the API's validation: nothing reaches a command line or header that could end it.
    private static func validate(_ message: EmailMessage, _ server: SMTPServerSettings) throws {
        func refuse(_ problem: String) -> SMTPError {
            SMTPError(kind: .invalidMessage, description: "Not sent: \(problem). Fix the email channel's settings.")
        }
        guard !server.host.isEmpty, server.host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw refuse("the SMTP host \"\(clean(server.host))\" is empty or contains spaces or control characters")
        }
        guard (1...65535).contains(server.port) else { throw refuse("the SMTP port \(server.port) is not 1–65535") }
        guard !message.to.isEmpty else { throw refuse("the message has no recipient") }
        for (role, address) in [("sender", message.from), ("Message-ID", message.messageID)] + message.to.map({ ("recipient", $0) }) {
            if let problem = addressProblem(address) { throw refuse("the \(role) address \"\(clean(address))\" \(problem)") }
        }
        guard !message.subject.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
            throw refuse("the subject contains a line break or NUL")
        }
        if server.credentials != nil, server.security == .none, !isLoopback(server.host) {
            throw SMTPError(
                kind: .insecure,
                description: "Not sent: refusing to send the SMTP password to \(server.host) over a connection without "
                    + "TLS. Use security starttls or tls, or remove the username and password (only a loopback relay "
                    + "may take them in clear text)."
            )
        }
    }

    /// Why `address` is not a plain `local@domain` that is safe in a command and a header, or nil.
    static func addressProblem(_ address: String) -> String? {
        if address.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) { return "contains a line break or NUL" }
        if address.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) { return "contains a space, control or non-ASCII character" }
        if address.contains(where: { "<>,;\"()\\".contains($0) }) { return "contains one of < > , ; \" ( ) \\" }
        guard address.utf8.count <= 254, let at = address.lastIndex(of: "@"), at != address.startIndex,
            address.index(after: at) != address.endIndex
        else { return "is not of the form local@domain" }
        return nil
    }

    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        guard let ip = try? SocketAddress(ipAddress: host, port: 0).ipAddress else { return false }
        return ip == "::1" || ip.hasPrefix("127.")
    }

    /// TLS may not name an IP address in SNI; without a name NIOSSL verifies the certificate against the peer's IP.
    fileprivate static func sniName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    /// Server text or an error, fit to quote: control characters stripped, at most 200 characters.
    static func clean(_ value: Any) -> String {
        let scalars = String(describing: value).unicodeScalars.filter { $0.properties.generalCategory != .control }
        let printable = String(String.UnicodeScalarView(scalars))
        return printable.count > 200 ? String(printable.prefix(200)) + "…" : printable
    }
}

extension SMTPServerSettings {
    fileprivate var credentials: (username: String, password: String)? {
        guard let username, !username.isEmpty, let password else { return nil }
        return (username, password)
    }
}

/// The dialogue over one connection, one command and one reply at a time (no PIPELINING).
private struct SMTPSession {
    let server: SMTPServerSettings
    let endpoint: String
    let timeout: Duration
    let channel: any Channel
    var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    /// What a reply quoted in an error must not show: the password and the AUTH payloads that carry it.
    var secrets: [String] = []

    mutating func deliver(_ message: EmailMessage, tls: NIOSSLContext?) async throws {
        _ = try await exchange(bytes: nil, step: "the greeting", accepting: 220...220)
        var extensions = try await hello()
        if server.security == .starttls, let tls {
            guard extensions["STARTTLS"] != nil else {
                throw SMTPError(
                    kind: .insecure,
                    description: "\(endpoint) does not offer STARTTLS, so nothing was sent (starttls never falls "
                        + "back to clear text). Use a server or port that offers it, or security tls for port 465."
                )
            }
            _ = try await exchange("STARTTLS", step: "STARTTLS", accepting: 220...220)
            try await startTLS(tls)
            // RFC 3207 §4.2: what the server offered in clear text may have been forged; ask again.
            extensions = try await hello()
        }
        if let credentials = server.credentials { try await authenticate(credentials, offered: extensions["AUTH"]) }
        _ = try await exchange("MAIL FROM:<\(message.from)>", step: "MAIL FROM", accepting: 250...250)
        for recipient in message.to {
            _ = try await exchange("RCPT TO:<\(recipient)>", step: "RCPT TO:<\(recipient)>", accepting: 250...251)
        }
        _ = try await exchange("DATA", step: "DATA", accepting: 354...354)
        _ = try await exchange(bytes: ByteBuffer(bytes: message.wireFormat), step: "the end of the message", accepting: 250...250)
        // Accepted. QUIT is a courtesy: its failure must not turn a delivered message into a retried one.
        _ = try? await exchange("QUIT", step: "QUIT", accepting: 221...221)
    }

    /// EHLO, and its extensions by keyword; HELO (no extensions) only where nothing depends on them.
    private mutating func hello() async throws -> [String: [String]] {
        let domain: String
        // An address literal: a bare host name fails strict servers' FQDN checks, and says nothing they need.
        switch (channel.localAddress, channel.localAddress?.ipAddress) {
        case (.v4?, let ip?): domain = "[\(ip)]"
        case (.v6?, let ip?): domain = "[IPv6:\(ip)]"
        default: domain = "localhost"
        }
        let reply = try await exchange("EHLO \(domain)", step: "EHLO", accepting: 250...250, orRefused: 500...504)
        guard reply.code == 250 else {
            guard server.security == .none, server.credentials == nil else { throw refusal(reply, step: "EHLO") }
            _ = try await exchange("HELO \(domain)", step: "HELO", accepting: 250...250)
            return [:]
        }
        var extensions: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            // "AUTH=PLAIN LOGIN" is how some old servers spell "AUTH PLAIN LOGIN".
            let words = line.uppercased().replacingOccurrences(of: "AUTH=", with: "AUTH ").split(separator: " ")
            guard let keyword = words.first else { continue }
            extensions[String(keyword), default: []] += words.dropFirst().map(String.init)
        }
        return extensions
    }

    private mutating func authenticate(_ credentials: (username: String, password: String), offered: [String]?) async throws {
        func unusable(_ why: String) -> SMTPError {
            SMTPError(kind: .authentication, description: "\(endpoint) \(why), so nothing was sent. Remove the username and password or use another server.")
        }
        guard let offered else { throw unusable("does not offer AUTH although the channel has a username") }
        let encode = { (text: String) in Data(text.utf8).base64EncodedString() }
        if offered.contains("PLAIN") {
            let token = encode("\0\(credentials.username)\0\(credentials.password)")
            secrets = [credentials.password, token]
            _ = try await exchange("AUTH PLAIN \(token)", step: "AUTH", accepting: 235...235)
        } else if offered.contains("LOGIN") {
            secrets = [credentials.password, encode(credentials.username), encode(credentials.password)]
            _ = try await exchange("AUTH LOGIN", step: "AUTH", accepting: 334...334)
            _ = try await exchange(secrets[1], step: "AUTH", accepting: 334...334)
            _ = try await exchange(secrets[2], step: "AUTH", accepting: 235...235)
        } else {
            throw unusable("offers AUTH \(offered.joined(separator: " ")) only, while restic-manager speaks PLAIN and LOGIN")
        }
    }

    /// Why the channel closed under a write or a pipeline change, which only know that it did: a TLS alert or
    /// a protocol violation waits in the inbound stream.
    private mutating func closingReason(else error: any Error) async -> any Error {
        do {
            _ = try await replies.next()
            return error
        } catch {
            return error
        }
    }

    private mutating func startTLS(_ context: NIOSSLContext) async throws {
        let channel = self.channel
        let host = server.host
        do {
            // First in the pipeline, below the reply decoder: from here on every byte is encrypted.
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: SMTPClient.sniName(host))
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            throw failure(await closingReason(else: error), step: "STARTTLS")
        }
    }

    private mutating func exchange(
        _ command: String, step: String, accepting: ClosedRange<Int>, orRefused tolerated: ClosedRange<Int>? = nil
    ) async throws -> SMTPReply {
        try await exchange(bytes: ByteBuffer(string: command + "\r\n"), step: step, accepting: accepting, orRefused: tolerated)
    }

    /// Sends `bytes` (one command, or the whole DATA) and reads its one reply, which must be in `accepting`
    /// (or in `tolerated`, for the caller to handle).
    private mutating func exchange(
        bytes: ByteBuffer?, step: String, accepting: ClosedRange<Int>, orRefused tolerated: ClosedRange<Int>? = nil
    ) async throws -> SMTPReply {
        let reply: SMTPReply
        do {
            if let bytes {
                do { try await outbound.write(bytes) } catch { throw await closingReason(else: error) }
            }
            guard let next = try await replies.next() else {
                try Task.checkCancellation()
                throw SMTPError(kind: .connection, description: "\(endpoint) closed the connection before \(step) was answered.")
            }
            reply = next
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw failure(error, step: step)
        }
        guard accepting.contains(reply.code) || tolerated?.contains(reply.code) == true else {
            throw refusal(reply, step: step)
        }
        return reply
    }

    private func refusal(_ reply: SMTPReply, step: String) -> SMTPError {
        var text = reply.lines.joined(separator: " ")
        for secret in secrets where !secret.isEmpty { text = text.replacingOccurrences(of: secret, with: "…") }
        let quoted = "\(reply.code) \(SMTPClient.clean(text))"
        let advice =
            switch step {
            case "the greeting": "the server does not accept mail from this host now"
            case "AUTH": "check the channel's username and password"
            case "MAIL FROM": "check the from address and that this account may send as it"
            case _ where step.hasPrefix("RCPT"): "check the recipient address and that the server relays for it"
            default: reply.code < 500 ? "the refusal is temporary" : "the server refuses this message"
            }
        return SMTPError(
            kind: step == "AUTH" ? .authentication : .rejected, replyCode: reply.code,
            description: "\(endpoint) answered \(step) with \(quoted); nothing was sent: \(advice)."
        )
    }

    private func failure(_ error: any Error, step: String) -> SMTPError {
        switch error {
        case let error as SMTPError:
            return error
        case is DeadlineExceeded:
            let hint = step == "the greeting" && server.security != .tls ? " (a port that expects TLS from the first byte, such as 465, needs security tls)" : ""
            return SMTPError(kind: .timeout, description: "\(endpoint) did not answer \(step) within \(timeout) of the start\(hint).")
        case let violation as SMTPReplyDecoder.Violation:
            return SMTPError(kind: .protocolViolation, description: "\(endpoint) broke the SMTP protocol at \(step): \(violation). Is this an SMTP port?")
        case NIOSSLError.uncleanShutdown:
            return SMTPError(kind: .connection, description: "\(endpoint) closed the connection before \(step) was answered.")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return SMTPError(
                kind: .tls,
                description: "TLS with \(endpoint) failed at \(step) (\(SMTPClient.clean(error))). Check that the port speaks "
                    + "the chosen security (465: tls, 587: starttls) and that its certificate is valid for \(server.host) "
                    + "and trusted (system store or --notify-ca-file)."
            )
        default:
            return SMTPError(kind: .connection, description: "The connection to \(endpoint) failed at \(step) (\(SMTPClient.clean(error))).")
        }
    }
}

private struct DeadlineExceeded: Error {}

/// One reply: its code and each line's text after the code.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
}

/// Splits the server's bytes into replies, and fails the connection when the server speaks unasked.
///
/// The client never pipelines, so each write is one command awaiting one reply. Bytes beyond the reply awaited
/// are a confused server or clear text injected ahead of STARTTLS, to be read later as if it came over TLS
/// (CVE-2011-0411): either way, stop.
private final class SMTPReplyDecoder: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SMTPReply
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Violation: Error, CustomStringConvertible {
        case unasked, malformed(String), tooLong
        var description: String {
            switch self {
            case .unasked: "it sent data no command asked for"
            case .malformed(let line): "\"\(SMTPClient.clean(line))\" is no SMTP reply"
            case .tooLong: "a reply is longer than any SMTP server sends"
            }
        }
    }

    private var buffer = ByteBuffer()
    private var pending: SMTPReply?
    private var awaitedReplies = 1  // the greeting

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        awaitedReplies += 1
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        do {
            while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                guard awaitedReplies > 0 else { throw Violation.unasked }
                var line = buffer.readString(length: newline - buffer.readerIndex + 1)!.dropLast()
                if line.last == "\r" { line = line.dropLast() }
                if let reply = try append(String(line)) {
                    awaitedReplies -= 1
                    context.fireChannelRead(wrapInboundOut(reply))
                }
            }
            guard awaitedReplies > 0 || buffer.readableBytes == 0 else { throw Violation.unasked }
            guard buffer.readableBytes <= 4096 else { throw Violation.tooLong }
            buffer.discardReadBytes()
        } catch {
            buffer.clear()
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    /// Adds one line ("250-…" continues, "250 …" or "250" ends); returns the reply it completes.
    private func append(_ line: String) throws -> SMTPReply? {
        let utf8 = Array(line.utf8)
        guard utf8.count >= 3, utf8[..<3].allSatisfy({ (0x30...0x39).contains($0) }),
            utf8.count == 3 || utf8[3] == UInt8(ascii: " ") || utf8[3] == UInt8(ascii: "-"),
            let code = Int(String(decoding: utf8[..<3], as: UTF8.self)), pending.map({ $0.code == code }) ?? true
        else { throw Violation.malformed(line) }
        let text = String(decoding: utf8.dropFirst(4), as: UTF8.self)
        var reply = pending ?? SMTPReply(code: code, lines: [])
        reply.lines.append(text)
        guard reply.lines.count <= 100 else { throw Violation.tooLong }
        guard utf8.count > 3, utf8[3] == UInt8(ascii: "-") else {
            pending = nil
            return reply
        }
        pending = reply
        return nil
    }
}

extension EmailMessage {
    /// Headers and quoted-printable body with CRLF line endings, dot-stuffed and ended by "." for DATA.
    fileprivate var wireFormat: [UInt8] {
        var to = "To: "
        var lineLength = to.count
        for (index, address) in self.to.enumerated() {
            let piece = address + (index < self.to.count - 1 ? "," : "")
            if index > 0, lineLength + 1 + piece.count > 78 {
                to += "\r\n "
                lineLength = 1
            } else if index > 0 {
                to += " "
                lineLength += 1
            }
            to += piece
            lineLength += piece.count
        }
        let headers = [
            "Date: \(Self.rfc5322(date))", "From: \(from)", to, "Subject: \(Self.encodedWords(subject))",
            "Message-ID: <\(messageID)>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        let bytes = Array((headers.joined(separator: "\r\n") + "\r\n\r\n").utf8) + Self.quotedPrintable(body)
        // Dot-stuffing (RFC 5321 §4.5.2): a line starting with "." gets one more, so none reads as the end.
        var stuffed: [UInt8] = []
        stuffed.reserveCapacity(bytes.count + 16)
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "."), index == 0 || bytes[index - 1] == UInt8(ascii: "\n") { stuffed.append(byte) }
            stuffed.append(byte)
        }
        return stuffed + Array(".\r\n".utf8)
    }

    /// The subject as is when it is short printable ASCII, else RFC 2047 encoded-words, one per folded line.
    private static func encodedWords(_ subject: String) -> String {
        if subject.utf8.count <= 68, subject.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), !subject.contains("=?") {
            return subject
        }
        // 42 bytes are 56 base64 characters: "Subject: =?utf-8?B?…?=" stays within 78. Whole scalars per word.
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in subject.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if chunk.count + encoded.count > 42 {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += encoded
        }
        words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
        return words.joined(separator: "\r\n ")
    }

    /// RFC 2045 §6.7 on lines split at CRLF, CR or LF: 7-bit safe for any server, no line over 76 characters.
    private static func quotedPrintable(_ text: String) -> [UInt8] {
        var lines: [[UInt8]] = [[]]
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n"), previous == UInt8(ascii: "\r") {
            } else if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                lines.append([])
            } else {
                lines[lines.count - 1].append(byte)
            }
            previous = byte
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for line in lines {
            var length = 0
            for (index, byte) in line.enumerated() {
                let isWhitespace = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
                let literal = (33...126).contains(byte) && byte != UInt8(ascii: "=") || isWhitespace && index < line.count - 1
                if length + (literal ? 1 : 3) > 75 {
                    output += Array("=\r\n".utf8)
                    length = 0
                }
                output += literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                length += literal ? 1 : 3
            }
            output += Array("\r\n".utf8)
        }
        return output
    }

    /// "Tue, 01 Dec 2026 10:00:00 +0000", in English whatever the locale.
    private static func rfc5322(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(days[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
