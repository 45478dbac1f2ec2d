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
/// Never contains the password or the AUTH exchange: replies quoted after AUTH began are scrubbed of both.
struct SMTPError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case invalidMessage, insecure, connection, tls, rejected, authentication, protocolViolation, timeout
    }
    var kind: Kind
    /// The server's reply code, when it refused something: 4xx is temporary, 5xx permanent.
    var replyCode: Int? = nil
    var description: String
}

/// Sends one email over SMTP (RFC 5321), with STARTTLS (RFC 3207) or implicit TLS, and AUTH PLAIN or LOGIN.
enum SMTPClient {
    /// Delivers `message` or throws an `SMTPError`; `timeout` bounds everything from connecting to the reply to
    /// the message. Nothing after that reply (QUIT, a late close) counts as a failure: a retry would be a duplicate.
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
            throw SMTPError(kind: .connection, description: "Could not connect to \(endpoint) (\(clean(error))).")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(
                server: server,
                endpoint: endpoint,
                timeout: timeout,
                channel: channel.channel,
                replies: inbound.makeAsyncIterator(),
                outbound: outbound
            )
            try await session.deliver(message, tls: tls)
        }
    }

    private static func connect(
        _ server: SMTPServerSettings,
        tls: NIOSSLContext?,
        deadline: NIODeadline
    ) async throws -> NIOAsyncChannel<SMTPReply, ByteBuffer> {
        let serverName = sniName(server.host)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(deadline - .now())
            .connect(host: server.host, port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A timer on the channel rather than a task racing the session: closing the socket ends whatever
                    // the session awaits (handshake, read, write), and only the session knows whether the message
                    // was already accepted, which makes a late timeout harmless.
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

    /// Belt and braces behind the API's checks: nothing may end a command line or a header early.
    private static func validate(_ message: EmailMessage, _ server: SMTPServerSettings) throws {
        func refuse(_ problem: String) -> SMTPError {
            SMTPError(kind: .invalidMessage, description: "Not sent: \(problem). Fix the email channel's settings.")
        }
        guard !server.host.isEmpty, server.host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw refuse("the SMTP host \"\(clean(server.host))\" is empty or has spaces or control characters")
        }
        guard (1...65535).contains(server.port) else { throw refuse("the SMTP port \(server.port) is not 1–65535") }
        guard !message.to.isEmpty else { throw refuse("the message has no recipient") }
        let addresses = [("sender address", message.from), ("Message-ID", message.messageID)]
        for (role, address) in addresses + message.to.map({ ("recipient address", $0) }) {
            if let problem = addressProblem(address) { throw refuse("the \(role) \"\(clean(address))\" \(problem)") }
        }
        if message.subject.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
            throw refuse("the subject contains a line break or NUL")
        }
        if server.credentials != nil, server.security == .none, !isLoopback(server.host) {
            throw SMTPError(
                kind: .insecure,
                description: "Not sent: refusing to send the SMTP password to \(server.host) without TLS. Use "
                    + "security starttls or tls, or remove the username and password (only a loopback relay may "
                    + "take them in clear text)."
            )
        }
    }

    /// Why `address` is not a plain `local@domain`, safe in a command and a header; nil if it is.
    static func addressProblem(_ address: String) -> String? {
        if address.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
            return "contains a line break or NUL"
        }
        if address.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            return "contains a space, control or non-ASCII character"
        }
        if address.contains(where: { "<>,;\"()\\".contains($0) }) { return "contains one of < > , ; \" ( ) \\" }
        guard let at = address.lastIndex(of: "@"), at != address.startIndex,
            at != address.index(before: address.endIndex),
            address.utf8.count <= 254
        else { return "is not of the form local@domain" }
        return nil
    }

    /// 127.0.0.0/8, ::1 and localhost: where a password in clear text never leaves the machine.
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        guard let ip = try? SocketAddress(ipAddress: host, port: 0).ipAddress else { return false }
        return ip == "::1" || ip.hasPrefix("127.")
    }

    /// SNI may not carry an IP address; without a name NIOSSL verifies the certificate against the peer's IP.
    fileprivate static func sniName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    /// Server text or an error, fit to quote: control characters stripped, at most 200 characters.
    fileprivate static func clean(_ value: Any) -> String {
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
    /// What no quoted reply may show: the password and the AUTH payloads that carry it.
    var secrets: [String] = []

    mutating func deliver(_ message: EmailMessage, tls: NIOSSLContext?) async throws {
        try await exchange(nil, step: "the greeting", accepting: 220...220)
        var extensions = try await hello()
        if server.security == .starttls, let tls {
            guard extensions["STARTTLS"] != nil else {
                throw SMTPError(
                    kind: .insecure,
                    description: "\(endpoint) does not offer STARTTLS, so nothing was sent (starttls never falls "
                        + "back to clear text). Use a server or port that offers it, or security tls for port 465."
                )
            }
            try await exchange("STARTTLS", step: "STARTTLS", accepting: 220...220)
            try await startTLS(tls)
            // RFC 3207 §4.2: what the server offered in clear text may have been forged, so ask again.
            extensions = try await hello()
        }
        if let credentials = server.credentials { try await authenticate(credentials, offered: extensions["AUTH"]) }
        try await exchange("MAIL FROM:<\(message.from)>", step: "MAIL FROM", accepting: 250...250)
        for recipient in message.to {
            try await exchange("RCPT TO:<\(recipient)>", step: "RCPT TO:<\(recipient)>", accepting: 250...251)
        }
        try await exchange("DATA", step: "DATA", accepting: 354...354)
        try await exchange(message.wireFormat, step: "the message", accepting: 250...250)
        // Delivered. QUIT is a courtesy whose failure must not make the message look undelivered.
        _ = try? await exchange("QUIT", step: "QUIT", accepting: 221...221)
    }

    /// EHLO and the extensions it lists by keyword; HELO, without extensions, only where none are needed.
    private mutating func hello() async throws -> [String: [String]] {
        // An address literal: strict servers refuse a host name that is not fully qualified.
        let domain =
            switch (channel.localAddress, channel.localAddress?.ipAddress) {
            case (.v4?, let ip?): "[\(ip)]"
            case (.v6?, let ip?): "[IPv6:\(ip)]"
            default: "localhost"
            }
        let reply: SMTPReply
        do {
            reply = try await exchange("EHLO \(domain)", step: "EHLO", accepting: 250...250)
        } catch let error as SMTPError
            where (500...504).contains(error.replyCode ?? 0) && server.security == .none
            && server.credentials == nil
        {
            try await exchange("HELO \(domain)", step: "HELO", accepting: 250...250)
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

    private mutating func authenticate(
        _ credentials: (username: String, password: String),
        offered: [String]?
    ) async throws {
        func unusable(_ why: String) -> SMTPError {
            SMTPError(kind: .authentication, description: "\(endpoint) \(why), so nothing was sent.")
        }
        guard let offered else { throw unusable("does not offer AUTH although the channel has a username") }
        let base64 = { (text: String) in Data(text.utf8).base64EncodedString() }
        if offered.contains("PLAIN") {
            let token = base64("\0\(credentials.username)\0\(credentials.password)")
            secrets = [credentials.password, token]
            try await exchange("AUTH PLAIN \(token)", step: "AUTH", accepting: 235...235)
        } else if offered.contains("LOGIN") {
            secrets = [credentials.password, base64(credentials.username), base64(credentials.password)]
            try await exchange("AUTH LOGIN", step: "AUTH", accepting: 334...334)
            try await exchange(secrets[1], step: "AUTH", accepting: 334...334)
            try await exchange(secrets[2], step: "AUTH", accepting: 235...235)
        } else {
            throw unusable("offers only AUTH \(offered.joined(separator: " ")); restic-manager speaks PLAIN and LOGIN")
        }
    }

    private mutating func startTLS(_ context: NIOSSLContext) async throws {
        let channel = self.channel
        let serverName = SMTPClient.sniName(server.host)
        do {
            // First in the pipeline, under the reply decoder: every byte from here on is encrypted.
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            throw failure(await closingReason(else: error), step: "STARTTLS")
        }
    }

    /// Sends `line` (none for the greeting) and reads its one reply, which must be in `accepting`.
    @discardableResult
    private mutating func exchange(_ line: String?, step: String, accepting: ClosedRange<Int>) async throws -> SMTPReply
    {
        let reply: SMTPReply
        do {
            if let line {
                do { try await outbound.write(ByteBuffer(string: line + "\r\n")) } catch {
                    throw await closingReason(else: error)
                }
            }
            guard let next = try await replies.next() else {
                try Task.checkCancellation()
                throw SMTPError(kind: .connection, description: "\(endpoint) closed the connection at \(step).")
            }
            reply = next
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw failure(error, step: step)
        }
        guard accepting.contains(reply.code) else { throw refusal(reply, step: step) }
        return reply
    }

    /// Why the channel closed under a write or a pipeline change, which know only that it did: the TLS alert or
    /// protocol violation that closed it waits in the inbound stream.
    private mutating func closingReason(else error: any Error) async -> any Error {
        do {
            _ = try await replies.next()
            return error
        } catch {
            return error
        }
    }

    private func refusal(_ reply: SMTPReply, step: String) -> SMTPError {
        var text = reply.lines.joined(separator: " ")
        for secret in secrets where !secret.isEmpty { text = text.replacingOccurrences(of: secret, with: "…") }
        let advice =
            switch step {
            case "the greeting": "the server does not take mail from this host now"
            case "AUTH": "check the channel's username and password"
            case "MAIL FROM": "check the from address and that this account may send as it"
            case _ where step.hasPrefix("RCPT"): "check the recipient address and that the server relays for it"
            default: reply.code < 500 ? "the refusal is temporary" : "the server refuses this message"
            }
        return SMTPError(
            kind: step == "AUTH" ? .authentication : .rejected,
            replyCode: reply.code,
            description: "\(endpoint) answered \(step) with \(reply.code) \(SMTPClient.clean(text)); "
                + "nothing was sent: \(advice)."
        )
    }

    private func failure(_ error: any Error, step: String) -> SMTPError {
        switch error {
        case let error as SMTPError:
            return error
        case is DeadlineExceeded:
            let silence = step == "the greeting" ? "sent no greeting" : "did not answer \(step)"
            let hint = server.security != .tls && step == "the greeting" ? " (port 465 needs security tls)" : ""
            return SMTPError(kind: .timeout, description: "\(endpoint) \(silence) within \(timeout)\(hint).")
        case let violation as SMTPReplyDecoder.Violation:
            return SMTPError(kind: .protocolViolation, description: "\(endpoint) broke SMTP at \(step): \(violation).")
        case NIOSSLError.uncleanShutdown:
            return SMTPError(kind: .connection, description: "\(endpoint) closed the connection at \(step).")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            // BoringSSL's text names its own source files; its reason code (CERTIFICATE_VERIFY_FAILED) is the news.
            let text = String(describing: error)
            let reason = text.firstRange(of: "OPENSSL_internal:").map { text[$0.upperBound...].prefix { $0 != " " } }
            return SMTPError(
                kind: .tls,
                description:
                    "TLS with \(endpoint) failed at \(step) (\(reason.map(String.init) ?? SMTPClient.clean(text))). "
                    + "Check that the port speaks the chosen security (465: tls, 587: starttls) and that its "
                    + "certificate is valid for \(server.host) and trusted (system store or --notify-ca-file)."
            )
        default:
            return SMTPError(
                kind: .connection,
                description: "The connection to \(endpoint) failed at \(step) (\(SMTPClient.clean(error)))."
            )
        }
    }
}

private struct DeadlineExceeded: Error {}

/// One reply: its code and the text of each of its lines.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
}

/// Splits the server's bytes into replies, and fails the connection when the server speaks unasked.
///
/// The client never pipelines, so each write is one command awaiting one reply. Bytes beyond the awaited reply
/// are a confused server, or clear text injected after the STARTTLS go-ahead to be read later as if it had come
/// over TLS (CVE-2011-0411): either way, stop.
private final class SMTPReplyDecoder: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SMTPReply
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Violation: Error, CustomStringConvertible {
        case unasked
        case malformed(String)
        case tooLong
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
                var line = Array(buffer.readBytes(length: newline - buffer.readerIndex + 1)!.dropLast())
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if let reply = try append(line) {
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

    /// Adds one line: "250-…" continues a reply, "250 …" or "250" ends it and returns it.
    private func append(_ line: [UInt8]) throws -> SMTPReply? {
        let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
        guard line.count >= 3, line[..<3].allSatisfy({ (0x30...0x39).contains($0) }),
            separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-"),
            let code = Int(String(decoding: line[..<3], as: UTF8.self)), pending.map({ $0.code == code }) ?? true
        else { throw Violation.malformed(String(decoding: line, as: UTF8.self)) }
        var reply = pending ?? SMTPReply(code: code, lines: [])
        reply.lines.append(String(decoding: line.dropFirst(4), as: UTF8.self))
        guard reply.lines.count <= 100 else { throw Violation.tooLong }
        pending = separator == UInt8(ascii: "-") ? reply : nil
        return pending == nil ? reply : nil
    }
}

extension EmailMessage {
    /// Headers and a quoted-printable body in CRLF lines, dot-stuffed, up to the lone "." that ends DATA.
    ///
    /// Quoted-printable keeps the message 7-bit, so it needs no 8BITMIME and no line exceeds 76 characters.
    fileprivate var wireFormat: String {
        let dateFormat = DateFormatter()
        dateFormat.locale = Locale(identifier: "en_US_POSIX")
        dateFormat.timeZone = TimeZone(secondsFromGMT: 0)
        dateFormat.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let headers = [
            "Date: \(dateFormat.string(from: date))",
            "From: \(from)",
            "To: \(to.joined(separator: ",\r\n "))",
            "Subject: \(Self.encodedWords(subject))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
        ]
        let lines = headers + Self.quotedPrintable(body) + ["."]
        // RFC 5321 §4.5.2: a line that starts with "." gets another, so only the last one ends the message.
        return lines.enumerated().map { $0 < lines.count - 1 && $1.hasPrefix(".") ? "." + $1 : $1 }
            .joined(separator: "\r\n")
    }

    /// Short printable ASCII as it is, anything else as RFC 2047 encoded-words, one per folded line.
    private static func encodedWords(_ subject: String) -> String {
        if subject.utf8.count <= 68, subject.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), !subject.contains("=?") {
            return subject
        }
        // 42 bytes make 56 base64 characters, so "Subject: =?utf-8?B?…?=" fits in 78. Whole scalars per word.
        var chunks: [[UInt8]] = [[]]
        for scalar in subject.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunks[chunks.count - 1].count + bytes.count > 42 { chunks.append([]) }
            chunks[chunks.count - 1] += bytes
        }
        return chunks.map { "=?utf-8?B?\(Data($0).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// RFC 2045 §6.7, on lines split at CRLF, CR or LF.
    private static func quotedPrintable(_ text: String) -> [String] {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let hex = Array("0123456789ABCDEF".unicodeScalars)
        var output: [String] = []
        for line in lines {
            let bytes = Array(line.utf8)
            var encoded = ""
            var length = 0
            for (index, byte) in bytes.enumerated() {
                // Trailing white space would be stripped in transit, so it is encoded like "=" and 8-bit bytes.
                let isBlank = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
                let literal =
                    (33...126).contains(byte) && byte != UInt8(ascii: "=") || isBlank && index < bytes.count - 1
                let token = literal ? String(UnicodeScalar(byte)) : "=\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
                if length + token.count > 75 {
                    output.append(encoded + "=")  // soft line break
                    (encoded, length) = ("", 0)
                }
                encoded += token
                length += token.count
            }
            output.append(encoded)
        }
        return output
    }
}
