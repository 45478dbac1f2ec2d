import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import ResticManagerProtocol
import Synchronization

/// N simulated agents, each on its own WebSocket, streaming one job's log
/// lines at once; the clock runs from the common start to the last ack.
struct AgentFleet {
    let webSocketURL: String
    let agents: [EnrolledAgent]
    let window: Int

    func stream(for duration: Duration) async throws -> ScenarioResult {
        let gate = StartGate(parties: agents.count)
        let finished = try await withThrowingTaskGroup(of: AgentTally.self) { group in
            for agent in agents {
                let simulated = SimulatedAgent(url: webSocketURL, enrolled: agent, window: window)
                group.addTask {
                    do {
                        return try await simulated.run(gate: gate, duration: duration)
                    } catch {
                        // Release the others from the gate: the scenario is void.
                        await gate.abandon()
                        throw error
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        guard let start = await gate.openedAt, let end = finished.map(\.lastAck).max() else {
            throw BenchError.agent("the agents never started")
        }
        let lines = finished.reduce(0) { $0 + $1.lines }
        let acks = finished.reduce(0) { $0 + $1.acks }
        progress("\(acks) acks, \(lines / max(1, acks)) lines per server transaction on average")
        return ScenarioResult(scenario: .webSocket, agents: agents.count, lines: lines, duration: end - start)
    }
}

/// One agent: hello, wait for config, start a job, then stream its log lines
/// with at most `window` unacked, as a real agent's outbox would.
struct SimulatedAgent: Sendable {
    let url: String
    let enrolled: EnrolledAgent
    let window: Int

    /// Sends log lines until `duration` after the common start, waits for
    /// every ack and tells how many lines the server committed, and when.
    func run(gate: StartGate, duration: Duration) async throws -> AgentTally {
        var configuration = WebSocketClientConfiguration(maxFrameSize: FrameLimits.maxFrameBytes)
        configuration.additionalHeaders[.authorization] = "Bearer \(enrolled.agentToken)"
        var logger = Logger(label: "bench-agent")
        logger.logLevel = .warning
        let outcome = AgentOutcome()
        let close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) {
            inbound,
            outbound,
            _ in
            let unacked = UnackedWindow(capacity: window)
            let (events, eventSink) = AsyncStream.makeStream(of: ServerEvent.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await receive(inbound, unacked: unacked, events: eventSink) }
                let tally = try await send(outbound, unacked: unacked, events: events, gate: gate, duration: duration)
                outcome.record(tally)
                // The server answers the close, which ends the receiver.
                try await outbound.close(.normalClosure, reason: "bench done")
            }
        }
        guard let tally = outcome.tally else {
            throw BenchError.agent(
                "\(enrolled.hostname): the socket closed early (\(close.map { "\($0)" } ?? "no close frame"))"
            )
        }
        return tally
    }

    private func send(
        _ outbound: WebSocketOutboundWriter,
        unacked: UnackedWindow,
        events: AsyncStream<ServerEvent>,
        gate: StartGate,
        duration: Duration
    ) async throws -> AgentTally {
        let hello = HelloPayload(
            agentVersion: "bench",
            resticVersion: "0.17.3",
            hostname: enrolled.hostname,
            os: "linux",
            arch: "amd64",
            timezone: "UTC"
        )
        try await outbound.write(.text(EnvelopeCodec.encode(Envelope(message: .hello(hello)))))
        var pending: Set<ServerEvent> = [.configUpdate, .scheduleSet]
        for await event in events {
            pending.remove(event)
            if pending.isEmpty { break }
        }
        guard pending.isEmpty else { throw BenchError.agent("\(enrolled.hostname): no config.update and schedule.set") }

        // A cron run: the agent mints the job id and the server learns of it now.
        let jobID = UUID().uuidString.lowercased()
        let started = JobStartedPayload(jobID: jobID, kind: .backup, startedAt: Date(), trigger: .schedule)
        try await unacked.reserve()
        try await outbound.write(.text(EnvelopeCodec.encode(Envelope(message: .jobStarted(started)))))
        try await unacked.drain()

        // Message ids are unique per sender: one random UUID's first groups
        // plus the sequence number. Foundation's `UUID()` reads /dev/urandom
        // on Linux, a cost of the agent's host, not of the server measured
        // here on the same CPUs.
        let idPrefix = String(UUID().uuidString.lowercased().prefix(24))
        let start = await gate.arrive()
        let deadline = start + duration
        var seq: Int64 = 0
        while ContinuousClock.now < deadline {
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
            try await unacked.reserve()
            try await outbound.write(.text(EnvelopeCodec.encode(Envelope(id: id, message: .logStream(line)))))
        }
        try await unacked.drain()
        return AgentTally(lines: Int(seq), acks: unacked.acks, lastAck: .now)
    }

    private func receive(
        _ inbound: WebSocketInboundStream,
        unacked: UnackedWindow,
        events: AsyncStream<ServerEvent>.Continuation
    ) async throws {
        defer {
            events.finish()
            unacked.fail(BenchError.agent("\(enrolled.hostname): the server closed the socket"))
        }
        for try await frame in inbound.messages(maxSize: FrameLimits.maxFrameBytes) {
            guard case .text(let text) = frame else { continue }
            let envelope = try EnvelopeCodec.decode(text)
            switch envelope.message {
            case .ack(let ack):
                unacked.release(ack.ids.count)
            case .configUpdate:
                events.yield(.configUpdate)
            case .scheduleSet:
                events.yield(.scheduleSet)
            case .error(let error):
                // The bench sends only valid messages: any refusal voids the run.
                unacked.fail(BenchError.agent("\(enrolled.hostname): server answered \(error.code): \(error.message)"))
                return
            default:
                continue
            }
        }
    }
}

/// Server messages the sender waits for before it starts its job.
enum ServerEvent: Hashable, Sendable {
    case configUpdate
    case scheduleSet
}

/// How many log lines one agent got acked, and when the last ack came.
struct AgentTally: Sendable {
    var lines: Int
    /// Acks received, job.started's included; one per server transaction.
    var acks: Int
    var lastAck: ContinuousClock.Instant
}

/// An agent's tally, set once its socket handler finished cleanly.
final class AgentOutcome: Sendable {
    private let value = Mutex<AgentTally?>(nil)

    func record(_ tally: AgentTally) { value.withLock { $0 = tally } }

    var tally: AgentTally? { value.withLock { $0 } }
}
