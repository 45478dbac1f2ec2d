import AsyncAlgorithms
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// When each connected agent last said anything, and the one watchdog that
/// ends silent sockets (SPEC §4: offline after 90 s without a message).
///
/// A frame costs its session one atomic store on its ``ActivityClock``;
/// nothing else happens per message, so a heartbeat writes nothing
/// (issue #12). One sweep every few seconds replaces a sleeping watchdog
/// task per socket, and every `flushInterval` the hosts heard from since
/// the last flush get their `last_seen_at` in one transaction. A session
/// that ends writes its own last-seen with the disconnect, so the database
/// is exact for every offline host; for a connected host it may lag one
/// flush interval, which is why the API asks ``lastSeen(of:)``.
///
/// Replicas sharing a store hold their hosts by lease (SPEC §12): every
/// `leaseRenewal` each renews the leases of the hosts connected to it and
/// marks offline the hosts whose lease ran out, so the hosts of a replica
/// that died are offline within `leaseDuration + leaseRenewal` (80 s).
actor AgentPresence: Service {
    static let leaseDuration = Duration.seconds(60)
    static let leaseRenewal = Duration.seconds(20)

    private struct Watched {
        let hostID: HostID
        let clock: ActivityClock
        /// The clock's reading at the last write of this host's last-seen;
        /// nil until hello was accepted, before which the row is not ours.
        var writtenActivity: UInt64?
        let onSilent: @Sendable () async -> Void
    }

    private var watched: [UUID: Watched] = [:]
    /// Each online host's connection, for reads of its last-seen.
    private var onlineConnections: [HostID: UUID] = [:]

    private let database: AppDatabase
    private let replica: ReplicaID
    private let offlineAfter: Duration
    private let flushInterval: Duration
    private let logger: Logger

    init(database: AppDatabase, replica: ReplicaID, offlineAfter: Duration, flushInterval: Duration, logger: Logger) {
        self.database = database
        self.replica = replica
        self.offlineAfter = offlineAfter
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Watches a new socket for silence from its first byte; `onSilent`
    /// runs once, when it has said nothing for longer than the threshold.
    func watch(_ connectionID: UUID, hostID: HostID, clock: ActivityClock, onSilent: @escaping @Sendable () async -> Void) {
        watched[connectionID] = Watched(hostID: hostID, clock: clock, writtenActivity: nil, onSilent: onSilent)
    }

    /// Hello was accepted and written with its last-seen: from now on this
    /// connection's messages are the host's last-seen.
    func online(_ connectionID: UUID) {
        guard let entry = watched[connectionID] else { return }
        watched[connectionID]?.writtenActivity = entry.clock.lastActivity
        onlineConnections[entry.hostID] = connectionID
    }

    /// The socket ended; its session writes the final last-seen itself.
    func unwatch(_ connectionID: UUID) {
        guard let entry = watched.removeValue(forKey: connectionID) else { return }
        if onlineConnections[entry.hostID] == connectionID { onlineConnections[entry.hostID] = nil }
    }

    /// The freshest last-seen of those hosts that are online here.
    func lastSeen(of hostIDs: some Sequence<HostID>) -> [HostID: Date] {
        var seen: [HostID: Date] = [:]
        for hostID in hostIDs {
            if let id = onlineConnections[hostID], let entry = watched[id] { seen[hostID] = entry.clock.lastSeen }
        }
        return seen
    }

    func run() async throws {
        // The sweep's period bounds how late past the threshold a silent
        // socket is noticed, as the per-socket watchdog's sleep did.
        let tick = min(offlineAfter / 4, flushInterval, .seconds(5))
        var lastFlush = ContinuousClock.now
        var lastRenewal = ContinuousClock.now
        for await _ in AsyncTimerSequence(interval: tick, clock: .continuous).cancelOnGracefulShutdown() {
            await sweepSilent()
            if ContinuousClock.now - lastFlush >= flushInterval {
                lastFlush = .now
                await flush()
            }
            if ContinuousClock.now - lastRenewal >= Self.leaseRenewal {
                lastRenewal = .now
                await renewLeases()
            }
        }
        await flush()
    }

    private func sweepSilent() async {
        var silent: [Watched] = []
        for (id, entry) in watched where entry.clock.silence > offlineAfter {
            watched[id] = nil
            if onlineConnections[entry.hostID] == id { onlineConnections[entry.hostID] = nil }
            silent.append(entry)
        }
        for entry in silent { await entry.onSilent() }
    }

    private func renewLeases() async {
        do {
            try await database.renewHostLeases(
                replica: replica, until: Date().addingTimeInterval(Self.leaseDuration.timeInterval))
            let offline = try await database.expireHostLeases()
            if offline > 0 {
                logger.warning("hosts whose replica stopped renewing their lease marked offline", metadata: [
                    "hosts": "\(offline)",
                ])
            }
        } catch {
            // Renewed at the next round, well before the lease runs out.
            logger.error("could not renew host leases", metadata: ["error": "\(error)"])
        }
    }

    /// Writes the last-seen of every host heard from since its last write.
    func flush() async {
        var seen: [(HostID, Date)] = []
        for (id, entry) in watched {
            guard let written = entry.writtenActivity else { continue }
            let activity = entry.clock.lastActivity
            guard activity != written else { continue }
            watched[id]?.writtenActivity = activity
            seen.append((entry.hostID, entry.clock.lastSeen))
        }
        guard !seen.isEmpty else { return }
        do {
            try await database.recordLastSeen(seen)
        } catch {
            // The next message marks the host again; nothing else depends on it.
            logger.error("could not write last-seen times", metadata: ["hosts": "\(seen.count)", "error": "\(error)"])
        }
    }
}

/// When the agent last said anything: stamped by its session's reader on
/// every frame, read by ``AgentPresence``.
final class ActivityClock: Sendable {
    private let lastNanos = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)

    func touch() { lastNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }

    /// Monotonic nanoseconds of the last message; changes with every message.
    var lastActivity: UInt64 { lastNanos.load(ordering: .relaxed) }

    var silence: Duration {
        .nanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - lastNanos.load(ordering: .relaxed)))
    }

    /// The last message's wall-clock time.
    var lastSeen: Date {
        let silence = silence.components
        return Date(timeIntervalSinceNow: -(Double(silence.seconds) + Double(silence.attoseconds) * 1e-18))
    }
}
