import AsyncAlgorithms
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Evaluates the alert rules (SPEC §9.1) every `interval` and at once when
/// poked by an event that can open or resolve an alert. Pokes that arrive
/// during an evaluation fold into one more evaluation, so a burst of job
/// events costs two passes, not one per event.
///
/// Replicas sharing a store: the one holding the lease evaluates; the others
/// pass their events' pokes on to it (``ReplicaSignal/evaluateAlerts``).
final class AlertEvaluator: Service, Sendable {
    private let database: AppDatabase
    private let interval: Duration
    private let lease: FleetLease
    private let signals: ReplicaSignals
    private let onNotificationsWritten: @Sendable () -> Void
    private let logger: Logger
    private let pokes: AsyncStream<Wake>
    private let pokeContinuation: AsyncStream<Wake>.Continuation
    private let duration = Metrics.Timer(label: "rm_alert_evaluation_duration_seconds", preferredDisplayUnit: .seconds)

    init(database: AppDatabase, interval: Duration, lease: FleetLease, signals: ReplicaSignals, logger: Logger,
         onNotificationsWritten: @escaping @Sendable () -> Void) {
        self.database = database
        self.interval = interval
        self.lease = lease
        self.signals = signals
        self.logger = logger
        self.onNotificationsWritten = onNotificationsWritten
        // One event and one replica's poke may wait: either folds many.
        (pokes, pokeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(2))
    }

    private enum Wake {
        case tick
        case event
        case replica
    }

    /// Asks for an evaluation as soon as the current one (if any) is done.
    func poke() { pokeContinuation.yield(.event) }

    /// Another replica's event: evaluated here if this replica holds the
    /// lease, never passed on again.
    func pokeFromReplica() { pokeContinuation.yield(.replica) }

    /// Event-driven passes keep at least this many times their own duration
    /// apart, so a busy large fleet (a job event every second) spends at
    /// most a sixth of a core on rules rather than all of it.
    static let restFactor = 5.0

    func run() async throws {
        poke()
        var crons = CronCache()
        let ticks = AsyncTimerSequence(interval: interval, clock: .continuous).map { _ in Wake.tick }
        for await wake in merge(pokes, ticks).cancelOnGracefulShutdown() {
            guard await lease.isHeld() else {
                if wake == .event { signals.publish(.evaluateAlerts) }
                continue
            }
            let started = ContinuousClock.now
            await evaluate(crons: &crons)
            let rest = (ContinuousClock.now - started) * Self.restFactor
            if rest > .milliseconds(200) { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: rest) } }
        }
    }

    /// One pass: read the facts, compute the conditions, apply the difference.
    @discardableResult
    func evaluate(now: Date = Date(), crons: inout CronCache) async -> AlertChanges {
        let started = ContinuousClock.now
        defer { duration.recordSeconds((ContinuousClock.now - started).timeInterval) }
        do {
            let rules = try await database.alertRules()
            let facts = try await database.fleetFacts()
            let conditions = AlertConditions.evaluate(
                facts, rules: Dictionary(rules.map { ($0.rule, $0) }, uniquingKeysWith: { first, _ in first }), now: now,
                crons: &crons)
            let changes = try await database.applyAlerts(conditions, rules: rules, now: now)
            if !changes.isEmpty {
                logger.notice("alerts changed", metadata: [
                    "opened": "\(changes.opened.count)", "resolved": "\(changes.resolved.count)",
                    "repeated": "\(changes.repeated.count)",
                ])
            }
            if changes.notifications > 0 { onNotificationsWritten() }
            return changes
        } catch {
            logger.error("alert evaluation failed", metadata: ["error": "\(PostgresFailure.describe(error))"])
            return AlertChanges()
        }
    }
}
