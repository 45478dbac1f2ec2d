import Foundation
import ResticManagerProtocol
import Synchronization

#if canImport(Glibc)
import Glibc

private let streamSocket = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin

private let streamSocket = SOCK_STREAM
// Darwin has no MSG_NOSIGNAL: SO_NOSIGPIPE is set on the socket instead.
private let sendFlags: Int32 = 0
#endif

// A minimal RFC 6455 client written for the load generator only: the
// simulated agents share the machine's cores with the server they measure,
// and a general-purpose client (an event loop, one random mask key and one
// write + flush per frame) spent about as much CPU per log line as the
// server. This one speaks plain blocking POSIX sockets on dedicated threads
// and writes many pre-encoded frames per syscall. No TLS, no extensions.

/// One client WebSocket over TCP: the HTTP/1.1 upgrade, masked writes of
/// pre-encoded frames, and the close handshake. The sending thread and the
/// reading thread share it; writes are serialized so that a pong or close
/// never lands inside a batch of frames.
final class BenchWebSocket: Sendable {
    private let descriptor: Int32
    /// One masking key for the whole connection. RFC 6455 requires every
    /// client frame to be masked and asks for a fresh unpredictable key per
    /// frame, against cache poisoning of intermediaries that misread
    /// WebSocket traffic as HTTP. Servers cannot and do not check freshness,
    /// there is no intermediary on this loopback benchmark, and a random read
    /// per frame was a large share of the old client's cost per line.
    private let maskKey: [UInt8]
    private let writeLock = Mutex(())
    private let closeSent = Atomic<Bool>(false)

    private init(descriptor: Int32, maskKey: [UInt8]) {
        self.descriptor = descriptor
        self.maskKey = maskKey
    }

    deinit { close(descriptor) }

    /// Connects to a `ws://` URL and performs the upgrade; returns the socket
    /// and the reader that owns its inbound side. `sourceAddress` (a local
    /// IPv4 address such as 127.0.0.7) gives the connection its own ephemeral
    /// port range, for fleets larger than one address's.
    static func connect(url: String, bearerToken: String, sourceAddress: String? = nil) throws
        -> (BenchWebSocket, FrameReader)
    {
        guard let target = URL(string: url), target.scheme == "ws", let host = target.host else {
            throw BenchError.agent("not a ws:// URL: \(url)")
        }
        let port = target.port ?? 80
        var random = SystemRandomNumberGenerator()
        let socket = BenchWebSocket(
            descriptor: try openTCPSocket(host: host, port: port, sourceAddress: sourceAddress),
            maskKey: (0..<4).map { _ in random.next() }
        )
        let key = Data((0..<16).map { _ in random.next() as UInt8 }).base64EncodedString()
        let path = target.path.isEmpty ? "/" : target.path
        let request =
            "GET \(path)\(target.query.map { "?\($0)" } ?? "") HTTP/1.1\r\n"
            + "Host: \(host):\(port)\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "Authorization: Bearer \(bearerToken)\r\n\r\n"
        try socket.write(Array(request.utf8))

        var reader = FrameReader(socket: socket)
        let head = try reader.readResponseHead()
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let status = lines.first.map(String.init) ?? ""
        guard status.split(separator: " ").dropFirst().first == "101" else {
            throw BenchError.agent("the upgrade was answered \(status.isEmpty ? "with nothing" : status)")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        // Sec-WebSocket-Accept is not checked: this client only ever talks to
        // the server the bench started, and hashing it would pull a crypto
        // library into the build for nothing the end-to-end tests don't cover.
        guard headers["upgrade"]?.lowercased() == "websocket",
            headers["connection"]?.lowercased().contains("upgrade") == true,
            headers["sec-websocket-accept"] != nil
        else { throw BenchError.agent("the 101 answer is not a valid WebSocket upgrade: \(head)") }
        // Nothing was offered, so nothing may be chosen (RFC 6455 §4.1).
        guard headers["sec-websocket-extensions"] == nil, headers["sec-websocket-protocol"] == nil else {
            throw BenchError.agent("the server chose an extension or subprotocol that was not offered: \(head)")
        }
        return (socket, reader)
    }

    /// An empty buffer that masks with this connection's key.
    func makeFrameBuffer() -> FrameBuffer { FrameBuffer(maskKey: maskKey) }

    /// Writes every frame in `frames` with as few syscalls as the kernel
    /// allows, then empties the buffer, keeping its capacity.
    func write(_ frames: inout FrameBuffer) throws {
        try write(frames.bytes)
        frames.bytes.removeAll(keepingCapacity: true)
    }

    /// Sends a close frame unless one was sent already (RFC 6455 §5.5.1).
    func sendClose(code: UInt16, reason: String) throws {
        guard !closeSent.exchange(true, ordering: .relaxed) else { return }
        var frames = makeFrameBuffer()
        frames.append(opcode: .close, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(123)))
        try write(&frames)
    }

    /// Ends both directions: a thread blocked reading returns at once.
    func disconnect() { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }

    /// For readiness polling (``IdleFleet``); reads go through ``receiveAvailable(into:)``.
    var fileDescriptor: Int32 { descriptor }

    /// What the kernel holds right now, without waiting: 0 at end of stream,
    /// nil when nothing is there.
    func receiveAvailable(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if count >= 0 { return count }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            guard errno == EINTR else { throw BenchError.agent("recv failed: \(String(cString: strerror(errno)))") }
        }
    }

    fileprivate func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            guard errno == EINTR else { throw BenchError.agent("recv failed: \(String(cString: strerror(errno)))") }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        try writeLock.withLock { _ in
            try bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let sent = send(descriptor, raw.baseAddress! + offset, raw.count - offset, sendFlags)
                    if sent >= 0 {
                        offset += sent
                    } else if errno != EINTR {
                        throw BenchError.agent("send failed: \(String(cString: strerror(errno)))")
                    }
                }
            }
        }
    }
}

/// A connected TCP socket to `host`, trying each address it resolves to.
private func openTCPSocket(host: String, port: Int, sourceAddress: String?) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = streamSocket
    var found: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &found)
    guard status == 0, let first = found else {
        throw BenchError.agent("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(first) }
    var lastError = ECONNREFUSED
    for address in sequence(first: first, next: { $0.pointee.ai_next }) {
        let info = address.pointee
        let descriptor = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard descriptor >= 0 else {
            lastError = errno
            continue
        }
        if let sourceAddress, info.ai_family == AF_INET {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            guard inet_pton(AF_INET, sourceAddress, &local.sin_addr) == 1 else {
                close(descriptor)
                throw BenchError.agent("not an IPv4 source address: \(sourceAddress)")
            }
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                lastError = errno
                close(descriptor)
                continue
            }
        }
        if connect(descriptor, info.ai_addr, info.ai_addrlen) == 0 {
            var on: Int32 = 1
            let size = socklen_t(MemoryLayout<Int32>.size)
            // Small messages (hello, job.started, pong) must not wait for Nagle.
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, size)
            #if canImport(Darwin)
            setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &on, size)
            #endif
            return descriptor
        }
        lastError = errno
        close(descriptor)
    }
    throw BenchError.agent("cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
}

/// Client frames (RFC 6455 §5.2) encoded and masked back to back, to be
/// written in one go.
struct FrameBuffer {
    enum Opcode: UInt8 {
        case text = 0x1
        case close = 0x8
        case pong = 0xA
    }

    fileprivate(set) var bytes: [UInt8] = []
    private let maskKey: [UInt8]
    /// The key twice, as one word in memory order, to mask 8 bytes at a time.
    private let maskWord: UInt64

    fileprivate init(maskKey: [UInt8]) {
        self.maskKey = maskKey
        maskWord = (maskKey + maskKey).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    /// Appends one unfragmented text frame.
    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { append(opcode: .text, payload: UnsafeRawBufferPointer($0)) }
    }

    mutating func append(opcode: Opcode, payload: [UInt8]) {
        payload.withUnsafeBytes { append(opcode: opcode, payload: $0) }
    }

    private mutating func append(opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let length = payload.count
        bytes.append(0x80 | opcode.rawValue)  // FIN: every message is one frame.
        if length < 126 {
            bytes.append(0x80 | UInt8(length))  // 0x80: masked.
        } else if length <= Int(UInt16.max) {
            bytes.append(0x80 | 126)
            bytes.append(UInt8(length >> 8))
            bytes.append(UInt8(length & 0xFF))
        } else {
            bytes.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((length >> shift) & 0xFF)) }
        }
        bytes.append(contentsOf: maskKey)
        let start = bytes.count
        bytes.append(contentsOf: payload)
        // The key restarts at each payload's first byte.
        bytes.withUnsafeMutableBytes { buffer in
            let masked = UnsafeMutableRawBufferPointer(rebasing: buffer[start...])
            var index = 0
            while index + 8 <= length {
                let word = masked.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ maskWord
                masked.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < length {
                masked[index] ^= maskKey[index & 3]
                index += 1
            }
        }
    }
}

/// A complete message from the server.
enum ServerFrame {
    case text([UInt8])
    case binary([UInt8])
    case close(code: UInt16?)
}

/// The inbound side of a ``BenchWebSocket``: the upgrade answer, then
/// server frames (unmasked, RFC 6455 §5.1), reassembled into messages.
/// Pings are answered here; pongs are skipped.
struct FrameReader {
    private let socket: BenchWebSocket
    private var buffer: [UInt8] = []
    /// Where the unread bytes of `buffer` start.
    private var start = 0

    fileprivate init(socket: BenchWebSocket) { self.socket = socket }

    /// Reads up to the blank line that ends the HTTP answer's head; frames
    /// the server sent right after it stay buffered.
    fileprivate mutating func readResponseHead() throws -> String {
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        var searched = 0
        while true {
            if let end = buffer[max(0, searched - 3)...].firstRange(of: terminator)?.upperBound {
                defer { start = end }
                return String(decoding: buffer[..<(end - 4)], as: UTF8.self)
            }
            searched = buffer.count
            guard searched < 16_384 else { throw BenchError.agent("the upgrade answer has no end of head") }
            guard try fill() else { throw BenchError.agent("the server closed the socket during the upgrade") }
        }
    }

    /// The next data message or close; nil once the server closed the TCP
    /// connection without a close frame.
    mutating func next() throws -> ServerFrame? {
        var fragments: [UInt8] = []
        var fragmentedOpcode: UInt8?
        while true {
            guard let (header, payload) = try nextFrame() else { return nil }
            let isFinal = header & 0x80 != 0
            let opcode = header & 0x0F
            switch opcode {
            case 0x1, 0x2:
                guard fragmentedOpcode == nil else { throw BenchError.agent("a new message inside a fragmented one") }
                if isFinal { return opcode == 0x1 ? .text(payload) : .binary(payload) }
                fragmentedOpcode = opcode
                fragments = payload
            case 0x0:
                guard let first = fragmentedOpcode else { throw BenchError.agent("a continuation frame out of the blue") }
                fragments += payload
                guard fragments.count <= FrameLimits.maxFrameBytes else {
                    throw BenchError.agent("a server message over \(FrameLimits.maxFrameBytes) bytes")
                }
                if isFinal { return first == 0x1 ? .text(fragments) : .binary(fragments) }
            case 0x8:
                let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
                // The echo is a courtesy: the server may have hung up already.
                try? socket.sendClose(code: code ?? 1000, reason: "")
                return .close(code: code)
            case 0x9:
                var pong = socket.makeFrameBuffer()
                pong.append(opcode: .pong, payload: payload)
                try socket.write(&pong)
            case 0xA:
                continue
            default:
                throw BenchError.agent("a frame with reserved opcode \(opcode)")
            }
        }
    }

    /// One frame's first byte and unmasked payload; nil at end of stream.
    private mutating func nextFrame() throws -> (UInt8, [UInt8])? {
        guard try need(2) else { return nil }
        let header = buffer[start]
        let second = buffer[start + 1]
        guard header & 0x70 == 0 else { throw BenchError.agent("a frame with RSV bits set; nothing was negotiated") }
        guard second & 0x80 == 0 else { throw BenchError.agent("a masked frame from the server") }
        var length = Int(second & 0x7F)
        var headerLength = 2
        if length >= 126 {
            let extra = length == 126 ? 2 : 8
            guard try need(2 + extra) else { return nil }
            length = buffer[(start + 2)..<(start + 2 + extra)].reduce(0) { $0 << 8 | Int($1) }
            headerLength += extra
        }
        guard length <= FrameLimits.maxFrameBytes else {
            throw BenchError.agent("a server frame over \(FrameLimits.maxFrameBytes) bytes")
        }
        guard try need(headerLength + length) else { return nil }
        let payload = Array(buffer[(start + headerLength)..<(start + headerLength + length)])
        start += headerLength + length
        return (header, payload)
    }

    /// Reads until `count` unread bytes are buffered; false at end of stream.
    private mutating func need(_ count: Int) throws -> Bool {
        while buffer.count - start < count {
            guard try fill() else { return false }
        }
        return true
    }

    /// Appends what one read returns; false at end of stream.
    private mutating func fill() throws -> Bool {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 1 << 16 {
            buffer.removeSubrange(..<start)
            start = 0
        }
        let chunk = 1 << 16
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let count = try buffer.withUnsafeMutableBytes { raw in
            try socket.receive(into: UnsafeMutableRawBufferPointer(rebasing: raw[old...]))
        }
        buffer.removeLast(chunk - count)
        return count > 0
    }
}
