import BenchSupport
import Foundation
import ResticManagerProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Thousands of idle agents, each on its own WebSocket, as cheaply as the
/// bench can hold them: after `hello` and its answer, one thread sends every
/// agent's heartbeat (each 30 s, spread evenly, like real agents that
/// started at different times) and one thread polls every socket to answer
/// pings and notice closes. An idle agent costs the bench a socket and a
/// few bytes, so what the machine spends is the server's.
final class IdleFleet: Sendable {
    private let sockets: [BenchWebSocket]
    private let stopped = Atomic<Bool>(false)
    private let closedCount = Atomic<Int>(0)
    private let threadsDone = DispatchGroup()

    private init(sockets: [BenchWebSocket]) { self.sockets = sockets }

    var count: Int { sockets.count }
    /// Sockets the server closed or dropped since they connected.
    var closedByServer: Int { closedCount.load(ordering: .relaxed) }

    /// Connects every agent (`parallel` at a time, source addresses taken in
    /// turn) and waits for each one's `config.update` and `schedule.set`.
    static func connect(
        url: String, agents: [EnrolledAgent], sourceAddresses: [String], parallel: Int
    ) throws -> IdleFleet {
        let connected = Mutex<[BenchWebSocket?]>(Array(repeating: nil, count: agents.count))
        let failure = Mutex<(any Error)?>(nil)
        let done = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: parallel) { lane in
            // Connecting 10,000 agents can take longer than the server lets
            // a socket stay silent (90 s): each lane keeps its own alive.
            let clock = ContinuousClock()
            var laneSockets: [BenchWebSocket] = []
            var lastBeat = clock.now
            for index in stride(from: lane, to: agents.count, by: parallel) {
                guard failure.withLock({ $0 == nil }) else { return }
                if clock.now - lastBeat > .seconds(20) {
                    laneSockets.forEach(beat)
                    lastBeat = clock.now
                }
                do {
                    let source = sourceAddresses.isEmpty ? nil : sourceAddresses[index % sourceAddresses.count]
                    let socket = try say(hello: agents[index], url: url, sourceAddress: source)
                    laneSockets.append(socket)
                    connected.withLock { $0[index] = socket }
                    let total = done.add(1, ordering: .relaxed).newValue
                    if total % 1000 == 0 { progress("\(total) idle agents connected") }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return IdleFleet(sockets: connected.withLock { $0.compactMap { $0 } })
    }

    private static func say(hello agent: EnrolledAgent, url: String, sourceAddress: String?) throws -> BenchWebSocket {
        let (socket, handshakeReader) = try BenchWebSocket.connect(
            url: url, bearerToken: agent.agentToken, sourceAddress: sourceAddress)
        var reader = handshakeReader
        var frames = socket.makeFrameBuffer()
        let hello = HelloPayload(
            agentVersion: "bench", resticVersion: "0.17.3", hostname: agent.hostname, os: "linux", arch: "amd64",
            timezone: "UTC")
        frames.appendText(EnvelopeCodec.encode(Envelope(message: .hello(hello))))
        try socket.write(&frames)
        var configured = false
        var scheduled = false
        while !(configured && scheduled), let frame = try reader.next() {
            guard case .text(let bytes) = frame else {
                throw BenchError.agent("\(agent.hostname): the server closed the socket after hello")
            }
            switch try EnvelopeCodec.decode(bytes).message {
            case .configUpdate: configured = true
            case .scheduleSet: scheduled = true
            case .error(let error): throw BenchError.agent("\(agent.hostname): \(error.code): \(error.message)")
            default: continue
            }
        }
        guard configured && scheduled else { throw BenchError.agent("\(agent.hostname): no hello burst") }
        return socket
    }

    /// Starts the heartbeat and the polling thread.
    func start(heartbeatEvery interval: Duration) {
        threadsDone.enter()
        Thread { [self] in
            sendHeartbeats(every: interval)
            threadsDone.leave()
        }.start()
        threadsDone.enter()
        Thread { [self] in
            answerPings()
            threadsDone.leave()
        }.start()
    }

    /// Stops both threads and hangs up every socket.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        threadsDone.wait()
        for socket in sockets { socket.disconnect() }
    }

    /// Agent `i` beats at `i / count` of each interval, after one beat of
    /// every agent at once, so that none waits a whole interval more after
    /// the connect phase's last keep-alive.
    private func sendHeartbeats(every interval: Duration) {
        let clock = ContinuousClock()
        sockets.forEach(Self.beat)
        let start = clock.now
        var sent = 0
        while !stopped.load(ordering: .relaxed) {
            let due = Int((clock.now - start) / interval * Double(sockets.count))
            while sent < due {
                Self.beat(sockets[sent % sockets.count])
                sent += 1
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    private static func beat(_ socket: BenchWebSocket) {
        var frames = socket.makeFrameBuffer()
        frames.appendText(EnvelopeCodec.encode(Envelope(message: .heartbeat(HeartbeatPayload()))))
        // A failed write is a closed socket, which the poller counts.
        try? socket.write(&frames)
    }

    /// One `poll` over every socket, five times a second at most; pings get
    /// their pong, and a close frame or the end of a stream counts as closed.
    private func answerPings() {
        var descriptors = sockets.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN), revents: 0) }
        var inbound = [IdleInbound](repeating: IdleInbound(), count: sockets.count)
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while !stopped.load(ordering: .relaxed) {
            let ready = poll(&descriptors, nfds_t(descriptors.count), 200)
            guard ready > 0 else { continue }
            for index in descriptors.indices where descriptors[index].revents != 0 {
                descriptors[index].revents = 0
                let socket = sockets[index]
                let received: Int?
                do {
                    received = try scratch.withUnsafeMutableBytes { try socket.receiveAvailable(into: $0) }
                } catch {
                    received = 0  // reset by the server: as good as closed
                }
                guard let count = received else { continue }
                var open = count > 0
                if open {
                    for frame in inbound[index].frames(appending: scratch[..<count]) {
                        switch frame.opcode {
                        case 0x8:
                            open = false
                        case 0x9:
                            var pong = socket.makeFrameBuffer()
                            pong.append(opcode: .pong, payload: frame.payload)
                            try? socket.write(&pong)
                        default:
                            continue
                        }
                    }
                }
                if !open {
                    closedCount.add(1, ordering: .relaxed)
                    // A negative descriptor is skipped by poll from now on.
                    descriptors[index].fd = -1
                }
            }
        }
    }
}

/// Server frames of an idle socket, split out of whatever the reads return.
private struct IdleInbound {
    private var pending: [UInt8] = []

    mutating func frames(appending bytes: ArraySlice<UInt8>) -> [(opcode: UInt8, payload: [UInt8])] {
        pending += bytes
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        var start = 0
        while pending.count - start >= 2 {
            var length = Int(pending[start + 1] & 0x7F)
            var header = 2
            if length >= 126 {
                let extra = length == 126 ? 2 : 8
                guard pending.count - start >= 2 + extra else { break }
                length = pending[(start + 2)..<(start + 2 + extra)].reduce(0) { $0 << 8 | Int($1) }
                header += extra
            }
            guard pending.count - start >= header + length else { break }
            frames.append((pending[start] & 0x0F, Array(pending[(start + header)..<(start + header + length)])))
            start += header + length
        }
        pending.removeFirst(start)
        return frames
    }
}
