import Foundation
import GRDB

/// What one retention transaction deleted.
struct RetentionBatch: Sendable, Equatable {
    var jobs = 0
    var logLines = 0
    var repoStats = 0

    var rows: Int { jobs + logLines + repoStats }
}

/// Where a sweep has got to, in index order, so that each batch starts
/// after the rows the previous ones kept instead of reading them again.
struct RetentionCursor: Sendable, Equatable {
    /// The `(finished_at, rowid)` of the last job deleted, as stored.
    var job: KeysetPosition?
    var jobsDone = false
    /// The `(reported_at, id)` of the last `repo_stats` row deleted.
    var repoStats: KeysetPosition?
    var repoStatsDone = false

    var finished: Bool { jobsDone && repoStatsDone }
}

/// A row's position in an index on `(time, rowid)`; the time is the stored
/// text, compared as stored.
struct KeysetPosition: Sendable, Equatable {
    var time: String
    var rowID: Int64

    static let start = KeysetPosition(time: "", rowID: -1)
}

/// The database kept bounded (SPEC §12): finished jobs, their logs and
/// `repo_stats` rows past the retention age are deleted in small
/// transactions, and the freed pages given back to the file system.
extension AppDatabase {
    /// A finished job older than the cutoff that nothing still needs: not
    /// its host's latest finished job of its kind (the fleet's "last
    /// backup"), not the latest successful one (its "last success"), not the
    /// job a `job_outcomes` row names (what the alert rules read). On SQLite,
    /// `+status` keeps the planner on `jobs_finished`, in cursor order, rather
    /// than `jobs_status`, which would sort every finished job first;
    /// PostgreSQL has no such operator on text, and a planner that needs no hint.
    static func expiredJobsSQL(_ dialect: SQLDialect) -> String {
        """
        SELECT j.rowid, j.id, j.finished_at FROM jobs j
        WHERE j.finished_at < ? AND (j.finished_at, j.rowid) > (?, ?)
            AND \(dialect == .sqlite ? "+" : "")j.status IN ('succeeded', 'failed', 'cancelled')
            AND EXISTS (SELECT 1 FROM jobs n WHERE n.host_id = j.host_id AND n.kind = j.kind
                AND n.status IN ('succeeded', 'failed', 'cancelled') AND n.finished_at > j.finished_at)
            AND (j.status != 'succeeded' OR EXISTS (SELECT 1 FROM jobs n WHERE n.host_id = j.host_id
                AND n.kind = j.kind AND n.status = 'succeeded' AND n.finished_at > j.finished_at))
            AND NOT EXISTS (SELECT 1 FROM job_outcomes o WHERE o.host_id = j.host_id AND o.job_id = j.id)
        ORDER BY j.finished_at, j.rowid LIMIT ?
        """
    }

    /// A `repo_stats` row older than the cutoff that is not its host's newest.
    static let expiredRepoStatsSQL = """
        SELECT r.id, r.reported_at FROM repo_stats r
        WHERE r.reported_at < ? AND (r.reported_at, r.id) > (?, ?)
            AND EXISTS (SELECT 1 FROM repo_stats n WHERE n.host_id = r.host_id AND n.id > r.id)
        ORDER BY r.reported_at, r.id LIMIT ?
        """

    /// Deletes at most `limit` rows in one short write transaction, so agent
    /// ingest (which shares the one writer) waits for one batch at most.
    /// Jobs go first, each one's logs before the job itself; then `repo_stats`.
    func deleteExpiredHistory(before cutoff: Date, limit: Int, from cursor: RetentionCursor) async throws
        -> (RetentionBatch, RetentionCursor)
    {
        try await write { tx in
            var cursor = cursor
            var batch = RetentionBatch()
            if !cursor.jobsDone {
                batch = try deleteExpiredJobs(tx, before: cutoff, limit: limit, cursor: &cursor)
            } else if !cursor.repoStatsDone {
                batch.repoStats = try deleteExpiredRepoStats(tx, before: cutoff, limit: limit, cursor: &cursor)
            }
            return (batch, cursor)
        }
    }

    /// Candidates are read a few at a time from the cursor: a batch takes
    /// only as many jobs as their logs leave room for (about 180 of 10 lines
    /// each), and reading and checking `limit` candidates every batch cost
    /// more than the deletes (`scripts/bench-retention`).
    static let candidatesPerRead = 64

    private func deleteExpiredJobs(
        _ tx: any StoreTransaction, before cutoff: Date, limit: Int, cursor: inout RetentionCursor
    ) throws -> RetentionBatch {
        let expiredJobs = Self.expiredJobsSQL(tx.dialect)
        var batch = RetentionBatch()
        var budget = limit
        while true {
            let position = cursor.job ?? .start
            let read = min(budget, Self.candidatesPerRead)
            let candidates = try tx.rows(expiredJobs, [cutoff, position.time, position.rowID, read])
            for candidate in candidates {
                let jobID: String = candidate["id"]
                // A job's logs can outnumber the whole budget: take what fits
                // and leave the job (and the cursor) for the next batch.
                let deletedLines = try tx.execute(
                    """
                    DELETE FROM job_logs WHERE job_id = ?
                    AND seq IN (SELECT seq FROM job_logs WHERE job_id = ? ORDER BY seq LIMIT ?)
                    """, [jobID, jobID, budget])
                batch.logLines += deletedLines
                budget -= deletedLines
                guard budget > 0 else { return batch }
                try tx.execute("DELETE FROM jobs WHERE id = ?", [jobID])
                batch.jobs += 1
                budget -= 1
                cursor.job = KeysetPosition(time: candidate["finished_at"], rowID: candidate["rowid"])
                guard budget > 0 else { return batch }
            }
            if candidates.count < read {
                cursor.jobsDone = true
                return batch
            }
        }
    }

    private func deleteExpiredRepoStats(
        _ tx: any StoreTransaction, before cutoff: Date, limit: Int, cursor: inout RetentionCursor
    ) throws -> Int {
        let position = cursor.repoStats ?? .start
        let rows = try tx.rows(Self.expiredRepoStatsSQL, [cutoff, position.time, position.rowID, limit])
        if let last = rows.last { cursor.repoStats = KeysetPosition(time: last["reported_at"], rowID: last["id"]) }
        cursor.repoStatsDone = rows.count < limit
        var deleted = 0
        for row in rows { deleted += try tx.delete(RepoStatsRecord.self, id: row["id"] as Int64) ? 1 : 0 }
        return deleted
    }

    /// Gives at most `pages` free pages back to the file system in one
    /// transaction; returns how many it gave (0 once none are left, or when
    /// the file is not in incremental mode, or the store is PostgreSQL's,
    /// whose autovacuum does this itself).
    func releaseFreePages(_ pages: Int) async throws -> Int {
        guard let writer = sqliteWriter else { return 0 }
        return try await writer.write { db in
            let before = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            guard before > 0, try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == Self.incrementalAutoVacuum else {
                return 0
            }
            try db.execute(sql: "PRAGMA incremental_vacuum(\(max(1, pages)))")
            return before - (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0)
        }
    }

    /// The `PRAGMA auto_vacuum` value of INCREMENTAL.
    static let incrementalAutoVacuum = 2

    /// Whether the file predates incremental vacuum (`open` sets it only on a
    /// file with no table yet) and needs ``convertToIncrementalVacuum()``.
    public func needsIncrementalVacuumConversion() async throws -> Bool {
        guard let writer = sqliteWriter else { return false }
        return try await writer.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } != Self.incrementalAutoVacuum
    }

    /// Rebuilds the file once with `auto_vacuum = INCREMENTAL`: SQLite can
    /// change that mode of a database that has tables only with a VACUUM,
    /// which rewrites the whole file (and needs as much free disk again).
    public func convertToIncrementalVacuum() async throws {
        guard let writer = sqliteWriter else { return }
        try await writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "VACUUM")
        }
    }
}
