import AsyncAlgorithms
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Keeps the database bounded (SPEC §12, `--log-retention-days`): at start
/// and every `interval`, deletes finished jobs, their logs and `repo_stats`
/// history older than `retention` (what is kept is in
/// `AppDatabase+Retention`), then gives the freed pages back to the file
/// system.
///
/// Ingest shares the one database writer, so the sweep works in batches of
/// `batchSize` rows, each its own short transaction, and rests as long as a
/// batch took before the next: agent messages wait for one batch at most,
/// and get at least half of the writer while a sweep runs.
final class RetentionService: Service, Sendable {
    /// What one sweep did, batch by batch.
    struct Sweep: Sendable, Equatable {
        var batches: [RetentionBatch] = []
        var freedPages = 0
        /// Time spent in the store's transactions (queueing for the writer
        /// included), without the rests between them.
        var busy: Duration = .zero

        var jobs: Int { batches.reduce(0) { $0 + $1.jobs } }
        var logLines: Int { batches.reduce(0) { $0 + $1.logLines } }
        var repoStats: Int { batches.reduce(0) { $0 + $1.repoStats } }
    }

    static let defaultBatchSize = 2_000
    /// Pages (4 KiB) given back per transaction after a sweep.
    static let vacuumPagesPerBatch = 2_000

    private let database: AppDatabase
    private let retention: Duration
    private let interval: Duration
    private let lease: FleetLease
    private let batchSize: Int
    private let logger: Logger
    private let deletedJobs = Counter(label: "rm_retention_deleted_rows_total", dimensions: [("table", "jobs")])
    private let deletedLogLines = Counter(label: "rm_retention_deleted_rows_total", dimensions: [("table", "job_logs")])
    private let deletedRepoStats = Counter(
        label: "rm_retention_deleted_rows_total", dimensions: [("table", "repo_stats")])

    init(database: AppDatabase, retention: Duration, interval: Duration, lease: FleetLease,
         batchSize: Int = defaultBatchSize, logger: Logger) {
        self.database = database
        self.retention = retention
        self.interval = interval
        self.lease = lease
        self.batchSize = batchSize
        self.logger = logger
    }

    func run() async throws {
        await sweepAndLog()
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            await sweepAndLog()
        }
    }

    private func sweepAndLog() async {
        // Replicas sharing a store: one sweeps for the fleet.
        guard await lease.isHeld() else { return }
        let started = ContinuousClock.now
        do {
            let sweep = try await self.sweep()
            logger.notice("retention sweep", metadata: [
                "jobs": "\(sweep.jobs)", "log_lines": "\(sweep.logLines)", "repo_stats": "\(sweep.repoStats)",
                "batches": "\(sweep.batches.count)", "freed_pages": "\(sweep.freedPages)",
                "seconds": "\((ContinuousClock.now - started).timeInterval)", "busy_seconds": "\(sweep.busy.timeInterval)",
            ])
        } catch {
            // Every batch is its own transaction: the next sweep carries on from the oldest rows left.
            logger.error("retention sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// One sweep of everything older than `retention` before `now`. A
    /// graceful shutdown stops it between batches.
    func sweep(now: Date = Date()) async throws -> Sweep {
        let cutoff = now.addingTimeInterval(-retention.timeInterval)
        var cursor = RetentionCursor()
        var sweep = Sweep()
        while !cursor.finished, !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            let (batch, next) = try await database.deleteExpiredHistory(before: cutoff, limit: batchSize, from: cursor)
            cursor = next
            sweep.busy += ContinuousClock.now - started
            sweep.batches.append(batch)
            deletedJobs.increment(by: batch.jobs)
            deletedLogLines.increment(by: batch.logLines)
            deletedRepoStats.increment(by: batch.repoStats)
            await rest(after: started)
        }
        guard sweep.batches.contains(where: { $0.rows > 0 }) else { return sweep }
        while !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            let freed = try await database.releaseFreePages(Self.vacuumPagesPerBatch)
            sweep.busy += ContinuousClock.now - started
            guard freed > 0 else { break }
            sweep.freedPages += freed
            await rest(after: started)
        }
        return sweep
    }

    private func rest(after started: ContinuousClock.Instant) async {
        try? await Task.sleep(for: ContinuousClock.now - started)
    }

    /// Converts a database file made before incremental vacuum, once, at
    /// start: a full VACUUM, which on a large file takes minutes, so it is
    /// logged before and after.
    static func enableIncrementalVacuum(_ database: AppDatabase, logger: Logger) async throws {
        guard try await database.needsIncrementalVacuumConversion() else { return }
        logger.notice("rebuilding the database once so that deleted history frees disk space (VACUUM); large files take minutes")
        let started = ContinuousClock.now
        try await database.convertToIncrementalVacuum()
        logger.notice("database rebuilt", metadata: ["seconds": "\((ContinuousClock.now - started).timeInterval)"])
    }
}
