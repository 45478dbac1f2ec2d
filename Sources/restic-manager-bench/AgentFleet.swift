import BenchSupport
import Dispatch
import Foundation
import ResticManagerProtocol

/// N simulated agents, each on its own WebSocket, streaming one job's log
/// lines at once; the clock runs from the common start to the last ack.
struct AgentFleet {
    let webSocketURL: String
    let agents: [EnrolledAgent]
    let window: Int

    /// `engine`: the store the server runs on, for the result's row.
    func stream(for duration: Duration, engine: Engine) async throws -> ScenarioResult {
        let gate = StartGate(parties: agents.count)
        let finished = try await withThrowingTaskGroup(of: AgentTally.self) { group in
            for agent in agents {
                let simulated = SimulatedAgent(url: webSocketURL, enrolled: agent, window: window)
                group.addTask {
                    try await onOwnThread {
                        do {
                            return try simulated.run(gate: gate, duration: duration)
                        } catch {
                            // Release the others from the gate: the scenario is void.
                            gate.abandon()
                            throw error
                        }
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        guard let start = gate.openedAt, let end = finished.map(\.lastAck).max() else {
            throw BenchError.agent("the agents never started")
        }
        let lines = finished.reduce(0) { $0 + $1.lines }
        let acks = finished.reduce(0) { $0 + $1.acks }
        progress("\(acks) acks, \(lines / max(1, acks)) lines per server transaction on average")
        return ScenarioResult(
            engine: engine, scenario: .webSocket, agents: agents.count, lines: lines, duration: end - start)
    }
}

/// Runs blocking socket code on a thread of its own, off the few threads
/// Swift concurrency runs tasks on.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// One agent: hello, wait for config, start a job, then stream its log lines
/// with at most `window` unacked, as a real agent's outbox would.
///
/// Its thread sends; once the job is started, a second thread reads acks.
struct SimulatedAgent: Sendable {
    let url: String
    let enrolled: EnrolledAgent
    let window: Int

    /// Sends log lines until `duration` after the common start, waits for
    /// every ack and tells how many lines the server committed, and when.
    func run(gate: StartGate, duration: Duration) throws -> AgentTally {
        let (socket, handshakeReader) = try BenchWebSocket.connect(url: url, bearerToken: enrolled.agentToken)
        var reader = handshakeReader
        var frames = socket.makeFrameBuffer()
        let jobID = UUID().uuidString.lowercased()
        do {
            let hello = HelloPayload(
                agentVersion: "bench",
                resticVersion: "0.17.3",
                hostname: enrolled.hostname,
                os: "linux",
                arch: "amd64",
                timezone: "UTC"
            )
            frames.appendText(EnvelopeCodec.encode(Envelope(message: .hello(hello))))
            try socket.write(&frames)
            var configured = false
            var scheduled = false
            try read(&reader) { message in
                if case .configUpdate = message { configured = true }
                if case .scheduleSet = message { scheduled = true }
                return configured && scheduled
            }

            // A cron run: the agent mints the job id and the server learns of it now.
            let started = JobStartedPayload(jobID: jobID, kind: .backup, startedAt: Date(), trigger: .schedule)
            let startedEnvelope = Envelope(message: .jobStarted(started))
            frames.appendText(EnvelopeCodec.encode(startedEnvelope))
            try socket.write(&frames)
            try read(&reader) { message in
                if case .ack(let ack) = message { ack.ids.contains(startedEnvelope.id) } else { false }
            }
        } catch {
            socket.disconnect()
            throw error
        }

        let unacked = UnackedWindow(capacity: window)
        let receiverDone = DispatchSemaphore(value: 0)
        let receivingReader = reader
        Thread {
            receive(receivingReader, unacked: unacked)
            receiverDone.signal()
        }.start()
        do {
            let lines = try stream(on: socket, frames: &frames, jobID: jobID, unacked: unacked, gate: gate, duration: duration)
            // job.started's ack came before the window.
            let tally = AgentTally(lines: lines, acks: unacked.acks + 1, lastAck: .now)
            // The server answers the close and hangs up, which ends the receiver.
            try socket.sendClose(code: 1000, reason: "bench done")
            if receiverDone.wait(timeout: .now() + 5) == .timedOut { socket.disconnect() }
            return tally
        } catch {
            socket.disconnect()
            receiverDone.wait()
            throw error
        }
    }

    /// Streams log lines from the common start until `duration` later, each
    /// write carrying as many frames as the window has room for, then waits
    /// for every ack; returns how many lines were sent.
    private func stream(
        on socket: BenchWebSocket,
        frames: inout FrameBuffer,
        jobID: String,
        unacked: UnackedWindow,
        gate: StartGate,
        duration: Duration
    ) throws -> Int {
        // Message ids are unique per sender: one random UUID's first groups
        // plus the sequence number. Foundation's `UUID()` reads /dev/urandom
        // on Linux, a cost of the agent's host, not of the server measured
        // here on the same CPUs.
        let idPrefix = String(UUID().uuidString.lowercased().prefix(24))
        let deadline = gate.arrive() + duration
        var seq: Int64 = 0
        while ContinuousClock.now < deadline {
            for _ in 0..<(try unacked.reserveFree()) {
                seq += 1
                let line = LogStreamLine(
                    jobID: jobID,
                    seq: seq,
                    ts: Date(),
                    stream: .stdout,
                    payload: LogLineSample.payload(seq: seq)
                )
                let hex = String(seq, radix: 16)
                let id = idPrefix + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
                frames.appendText(EnvelopeCodec.encode(Envelope(id: id, message: .logStream(line))))
            }
            try socket.write(&frames)
        }
        try unacked.drain()
        return Int(seq)
    }

    /// Reads server messages on the calling thread until `isAwaited` returns
    /// true for one; an `error` or the end of the socket fails the agent.
    private func read(_ reader: inout FrameReader, until isAwaited: (Message) -> Bool) throws {
        while let frame = try reader.next() {
            switch frame {
            case .text(let bytes):
                let message = try EnvelopeCodec.decode(bytes).message
                if case .error(let error) = message {
                    throw BenchError.agent("\(enrolled.hostname): server answered \(error.code): \(error.message)")
                }
                if isAwaited(message) { return }
            case .binary:
                continue
            case .close(let code):
                throw BenchError.agent("\(enrolled.hostname): the server closed the socket (\(code.map(String.init) ?? "no code"))")
            }
        }
        throw BenchError.agent("\(enrolled.hostname): the server hung up")
    }

    /// The receiving thread: frees window slots as acks arrive, until the
    /// socket ends; then fails the window, which no longer matters once the
    /// sender has drained it.
    private func receive(_ reader: FrameReader, unacked: UnackedWindow) {
        var reader = reader
        var ending = "the server closed the socket"
        do {
            receiving: while let frame = try reader.next() {
                switch frame {
                case .text(let bytes):
                    switch try EnvelopeCodec.decode(bytes).message {
                    case .ack(let ack):
                        unacked.release(ack.ids.count)
                    case .error(let error):
                        // The bench sends only valid messages: any refusal voids the run.
                        ending = "server answered \(error.code): \(error.message)"
                        break receiving
                    default:
                        continue
                    }
                case .binary:
                    continue
                case .close(let code):
                    ending = "the server closed the socket (\(code.map(String.init) ?? "no code"))"
                    break receiving
                }
            }
        } catch {
            ending = "\(error)"
        }
        unacked.fail(BenchError.agent("\(enrolled.hostname): \(ending)"))
    }
}

/// How many log lines one agent got acked, and when the last ack came.
struct AgentTally: Sendable {
    var lines: Int
    /// Acks received, job.started's included; one per server transaction.
    var acks: Int
    var lastAck: ContinuousClock.Instant
}
