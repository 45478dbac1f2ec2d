import AsyncAlgorithms
import Foundation
import Logging
import ServiceLifecycle

/// What one replica asks the others to do (SPEC §12): the replica that
/// holds a host's socket pushes to its agent, and every replica wakes the
/// live log streams of a job another replica ingested for.
enum ReplicaSignal: Codable, Sendable, Equatable {
    case pushConfig(HostID)
    case pushSchedules(HostID)
    case dispatchJobs(HostID)
    case cancelJob(HostID, JobID)
    case disconnect(HostID, reason: String)
    case jobEvents([JobID])
    /// Something alert rules look at changed here; the replica that
    /// evaluates for the fleet should look now rather than at its next tick.
    case evaluateAlerts
}

/// Signals between the replicas sharing a PostgreSQL store, through
/// `LISTEN`/`NOTIFY` on one channel; each is delivered to the others when
/// the transaction that sent it commits, so within a second. On a store of
/// its own there is no one to signal, and publishing does nothing.
///
/// Publishing never waits on the database: signals queue here and one loop
/// sends them, so an ingest batch does not pay a round trip for the live
/// log streams of other replicas.
final class ReplicaSignals: Service, Sendable {
    static let channel = "rm_replicas"
    /// Job ids per signal: `NOTIFY` payloads must stay under 8,000 bytes.
    static let jobsPerSignal = 100

    private struct Notice: Codable {
        var from: String
        var signal: ReplicaSignal
    }

    private let database: AppDatabase
    private let replica: ReplicaID
    private let logger: Logger
    private let outgoing: AsyncStream<ReplicaSignal>
    private let outgoingContinuation: AsyncStream<ReplicaSignal>.Continuation
    /// Signals from the other replicas, for ``ReplicaSignalDispatch``.
    let received: AsyncStream<ReplicaSignal>
    private let receivedContinuation: AsyncStream<ReplicaSignal>.Continuation

    init(database: AppDatabase, replica: ReplicaID, logger: Logger) {
        self.database = database
        self.replica = replica
        self.logger = logger
        (outgoing, outgoingContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        (received, receivedContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    func publish(_ signal: ReplicaSignal) {
        guard database.isShared else { return }
        if case .jobEvents(let jobs) = signal, jobs.count > Self.jobsPerSignal {
            for start in stride(from: 0, to: jobs.count, by: Self.jobsPerSignal) {
                outgoingContinuation.yield(.jobEvents(Array(jobs[start..<min(start + Self.jobsPerSignal, jobs.count)])))
            }
        } else {
            outgoingContinuation.yield(signal)
        }
    }

    func run() async throws {
        guard database.isShared else {
            // A service that returns ends the server: this one idles instead.
            try? await gracefulShutdown()
            receivedContinuation.finish()
            return
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.send() }
            group.addTask { await self.listen() }
            // Both loops end on shutdown; the streams end with them.
            try? await gracefulShutdown()
            group.cancelAll()
        }
        receivedContinuation.finish()
    }

    /// Sends what queued up, as many signals as have gathered per transaction.
    private func send() async {
        let encoder = JSONEncoder()
        for await batch in outgoing.chunks(ofCount: 64, or: AsyncTimerSequence.repeating(every: .milliseconds(20))) {
            let payloads = batch.compactMap { signal in
                (try? encoder.encode(Notice(from: replica.rawValue, signal: signal))).map { String(decoding: $0, as: UTF8.self) }
            }
            do {
                try await database.signalReplicas(channel: Self.channel, payloads)
            } catch {
                // The other replicas catch up when the agent reconnects or
                // the next change is signalled; nothing is lost from the store.
                logger.error("could not signal the other replicas", metadata: [
                    "signals": "\(payloads.count)", "error": "\(error)",
                ])
            }
        }
    }

    /// Listens on a connection of its own, again after the database went
    /// away: at once after losing a channel that worked, then every second
    /// while the database does not answer. Signals sent meanwhile are lost;
    /// what they asked for is in the store, and reaches the agent when it
    /// reconnects or with the next change.
    private func listen() async {
        let decoder = JSONDecoder()
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await database.listen(channel: Self.channel) { payload in
                    guard let notice = try? decoder.decode(Notice.self, from: Data(payload.utf8)) else {
                        self.logger.warning("ignored a malformed replica signal", metadata: ["bytes": "\(payload.utf8.count)"])
                        return
                    }
                    if notice.from != self.replica.rawValue { self.receivedContinuation.yield(notice.signal) }
                }
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("lost the replica signal channel; listening again", metadata: [
                    "error": "\(PostgresFailure.describe(error))",
                ])
            }
            let worked = ContinuousClock.now - started > .seconds(5)
            try? await Task.sleep(for: worked ? .milliseconds(100) : .seconds(1))
        }
    }
}

/// Applies the other replicas' signals here: pushes to the agents connected
/// to this replica, wakes this replica's live log streams.
struct ReplicaSignalDispatch: Service {
    let signals: ReplicaSignals
    let hub: AgentHub
    let jobEvents: JobEventBroadcaster
    let alerts: AlertEvaluator

    func run() async throws {
        for await signal in signals.received.cancelOnGracefulShutdown() {
            switch signal {
            case .jobEvents(let jobs): await jobEvents.notifyHere(jobs)
            case .evaluateAlerts: alerts.pokeFromReplica()
            default: await hub.applyHere(signal)
            }
        }
    }
}
