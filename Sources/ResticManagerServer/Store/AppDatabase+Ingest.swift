import Foundation
import GRDB
import ResticManagerProtocol

/// What became of one agent message in an ingest batch.
public enum IngestOutcome: Sendable, Equatable {
    /// Committed now: ack it.
    case applied
    /// Already applied by an earlier delivery: ack it, change nothing.
    case duplicate
    /// Refused for good: answer `error` with this code, never ack.
    case refused(ErrorCode, String)
}

/// The result of one ingest transaction.
public struct IngestReport: Sendable {
    public var outcomes: [(id: String, outcome: IngestOutcome)] = []
    /// Jobs whose logs or state changed, for live viewers.
    public var touchedJobs: Set<JobID> = []
    /// Whether something alert rules look at changed (SPEC §9.1: evaluate at once).
    public var changedAlertFacts = false
    /// Whether notifications were written, for the delivery service.
    public var wroteNotifications = false
    /// Jobs this batch ended, for the job metrics.
    public var finishedJobs: [JobRecord] = []
}

/// Raised inside the ingest transaction to refuse one message; never escapes it.
private struct Refusal: Error {
    let code: ErrorCode
    let reason: String
}

extension AppDatabase {
    /// Applies a batch of agent messages in one transaction, each message id
    /// at most once (SPEC §6.4). Nothing is acked before this returns, so a
    /// crash before commit only means the agent sends the batch again.
    public func ingest(hostID: HostID, envelopes: [Envelope]) async throws -> IngestReport {
        try await writer.write { db in
            var report = IngestReport()
            var jobOwners: [String: HostID] = [:]
            let now = Date()
            for envelope in envelopes {
                do {
                    var outcome = IngestOutcome.applied
                    if case .logStream = envelope.message {
                        // One statement, checked before it writes: no savepoint needed on the hot path.
                        outcome = try apply(db, hostID: hostID, envelope: envelope, now: now,
                                            jobOwners: &jobOwners, report: &report)
                    } else {
                        // A savepoint per message: a refused message leaves no trace.
                        try db.inSavepoint {
                            outcome = try apply(db, hostID: hostID, envelope: envelope, now: now,
                                                jobOwners: &jobOwners, report: &report)
                            return .commit
                        }
                    }
                    report.outcomes.append((envelope.id, outcome))
                } catch let refusal as Refusal {
                    report.outcomes.append((envelope.id, .refused(refusal.code, refusal.reason)))
                }
            }
            try db.execute(sql: "UPDATE hosts SET last_seen_at = ? WHERE id = ?", arguments: [now, hostID])
            return report
        }
    }

    private func apply(
        _ db: Database, hostID: HostID, envelope: Envelope, now: Date, jobOwners: inout [String: HostID],
        report: inout IngestReport
    ) throws -> IngestOutcome {
        // Log lines are idempotent by (job_id, seq); everything else by message id.
        if case .logStream(let line) = envelope.message {
            try requireOwnJob(db, line.jobID, hostID: hostID, owners: &jobOwners)
            let statement = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, ?, ?)")
            // `StoredDate.text` is the text GRDB would store for `line.ts`, made without ICU.
            try statement.execute(
                arguments: [line.jobID, line.seq, StoredDate.text(line.ts), line.stream.rawValue, line.payload])
            report.touchedJobs.insert(JobID(line.jobID))
            return db.changesCount > 0 ? .applied : .duplicate
        }
        let seen = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO processed_messages (host_id, message_id, processed_at) VALUES (?, ?, ?)")
        try seen.execute(arguments: [hostID, envelope.id, now])
        guard db.changesCount > 0 else { return .duplicate }

        switch envelope.message {
        case .scheduleAck(let ack):
            try db.execute(
                sql: """
                    UPDATE host_schedule_version SET acked_version = ?, acked_at = ?
                    WHERE host_id = ? AND ? <= desired_version AND ? > acked_version
                    """, arguments: [ack.version, ack.appliedAt, hostID, ack.version, ack.version])
            report.changedAlertFacts = true
        case .commandResult(let result):
            try requireOwnJob(db, result.jobID, hostID: hostID, owners: &jobOwners)
            if result.accepted {
                try db.execute(sql: "UPDATE jobs SET accepted_at = COALESCE(accepted_at, ?) WHERE id = ?",
                               arguments: [now, result.jobID])
            } else {
                try db.execute(
                    sql: "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'queued'",
                    arguments: [now, "the agent refused the job: \(result.error ?? "no reason given")", result.jobID])
            }
            report.touchedJobs.insert(JobID(result.jobID))
            report.changedAlertFacts = !result.accepted
        case .jobStarted(let started):
            if let scheduleID = try applyJobStarted(db, hostID: hostID, started: started, owners: &jobOwners) {
                report.wroteNotifications = try enqueuePing(
                    db, scheduleID: scheduleID, jobID: JobID(started.jobID), event: .pingStart, now: now)
                    || report.wroteNotifications
            }
            report.touchedJobs.insert(JobID(started.jobID))
            report.changedAlertFacts = true
        case .jobProgress(let progress):
            try requireOwnJob(db, progress.jobID, hostID: hostID, owners: &jobOwners)
            let text = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
            try db.cachedStatement(sql: "UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'")
                .execute(arguments: [text, progress.jobID])
            report.touchedJobs.insert(JobID(progress.jobID))
        case .jobFinished(let finished):
            if let (job, overrode) = try applyJobFinished(db, hostID: hostID, finished: finished, owners: &jobOwners) {
                report.finishedJobs.append(job)
                // An orphan verdict already sent the failure ping.
                if !overrode {
                    report.wroteNotifications = try enqueuePing(
                        db, scheduleID: job.scheduleId, jobID: job.id,
                        event: job.status == .succeeded ? .pingSuccess : .pingFail, now: now) || report.wroteNotifications
                }
            }
            report.touchedJobs.insert(JobID(finished.jobID))
            report.changedAlertFacts = true
        case .snapshotsReport(let report):
            try db.execute(sql: "DELETE FROM snapshots WHERE host_id = ?", arguments: [hostID])
            for snapshot in report.snapshots {
                try SnapshotRecord(
                    hostId: hostID, snapshotId: snapshot.id, time: snapshot.time, hostname: snapshot.hostname,
                    paths: snapshot.paths, tags: snapshot.tags, sizeBytes: snapshot.sizeBytes ?? 0,
                    fileCount: snapshot.fileCount ?? 0
                ).save(db)
            }
        case .repoStats(let stats):
            let record = RepoStatsRecord(
                id: nil, hostId: hostID, reportedAt: envelope.ts, sizeBytes: stats.sizeBytes,
                snapshotCount: Int64(stats.snapshotCount), dedupRatio: stats.dedupRatio, lastCheckAt: stats.lastCheckAt,
                lastCheckStatus: stats.lastCheckStatus.flatMap { $0.isEmpty ? nil : $0 }, lockState: stats.lockState)
            try record.insert(db)
            report.changedAlertFacts = true
        case .error:
            // An agent's complaint about one of our messages: recorded by the
            // caller's log; nothing to store.
            break
        default:
            throw Refusal(code: .badMessage, reason: "\(envelope.message.type.rawValue) is not accepted from an agent here")
        }
        return .applied
    }

    private func requireOwnJob(_ db: Database, _ jobID: String, hostID: HostID, owners: inout [String: HostID]) throws {
        let owner: HostID?
        if let cached = owners[jobID] {
            owner = cached
        } else {
            owner = try HostID.fetchOne(db.cachedStatement(sql: "SELECT host_id FROM jobs WHERE id = ?"), arguments: [jobID])
            if let owner { owners[jobID] = owner }
        }
        guard let owner else {
            throw Refusal(code: .badMessage, reason: "job \(jobID.prefix(64)) is unknown; send job.started first")
        }
        guard owner == hostID else {
            throw Refusal(code: .forbidden, reason: "job \(jobID.prefix(64)) belongs to another host")
        }
    }

    /// Returns the job's schedule (nil for none) when the job started now,
    /// so its ping can be written; nil too when it had started already.
    private func applyJobStarted(
        _ db: Database, hostID: HostID, started: JobStartedPayload, owners: inout [String: HostID]
    ) throws -> ScheduleID? {
        if var job = try JobRecord.fetchOne(db, key: started.jobID) {
            guard job.hostId == hostID else {
                throw Refusal(code: .forbidden, reason: "job \(started.jobID.prefix(64)) belongs to another host")
            }
            guard job.status == .queued else { return nil }
            job.status = .running
            job.startedAt = started.startedAt
            job.acceptedAt = job.acceptedAt ?? started.startedAt
            try job.update(db)
            return job.scheduleId
        }
        // A scheduled run: the agent minted the id and we learn of it now.
        var scheduleID: ScheduleID?
        if let id = started.scheduleID, !id.isEmpty {
            let owner = try HostID.fetchOne(db, sql: "SELECT host_id FROM schedules WHERE id = ?", arguments: [id])
            if owner != nil, owner != hostID {
                throw Refusal(code: .forbidden, reason: "schedule \(id.prefix(64)) belongs to another host")
            }
            scheduleID = ScheduleID(id)
        }
        let job = JobRecord(
            id: JobID(started.jobID), hostId: hostID, scheduleId: scheduleID, kind: started.kind,
            trigger: started.trigger ?? (scheduleID == nil ? .api : .schedule), args: [], status: .running,
            queuedAt: started.startedAt, dispatchedAt: nil, acceptedAt: started.startedAt, startedAt: started.startedAt,
            finishedAt: nil, expiresAt: nil, exitCode: nil, stats: nil, error: nil, progress: nil,
            requestedBy: "agent:\(hostID)")
        try job.insert(db)
        owners[started.jobID] = hostID
        return scheduleID
    }

    /// Returns the job when this message ended it, and whether it replaced
    /// the server's "agent restarted" verdict.
    private func applyJobFinished(
        _ db: Database, hostID: HostID, finished: JobFinishedPayload, owners: inout [String: HostID]
    ) throws -> (job: JobRecord, overrode: Bool)? {
        try requireOwnJob(db, finished.jobID, hostID: hostID, owners: &owners)
        guard var job = try JobRecord.fetchOne(db, key: finished.jobID) else { return nil }
        // The agent's own result wins over the server's orphan verdict: it
        // may arrive late, from the outbox, after a reconnect.
        let overridable = job.status == .failed && job.error == agentRestartedDuringJob
        guard !job.status.isTerminal || overridable else { return nil }
        job.status = finished.status
        job.exitCode = finished.exitCode
        job.finishedAt = finished.finishedAt
        job.stats = finished.stats?.text
        job.error = finished.error.flatMap { $0.isEmpty ? nil : $0 }
        job.startedAt = job.startedAt ?? finished.finishedAt
        try job.update(db)
        return (job, overridable)
    }

    /// Forgets processed message ids older than `age`; agents never replay
    /// messages that old (their outbox drains on every connection).
    public func pruneProcessedMessages(olderThan age: Duration) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM processed_messages WHERE processed_at < ?",
                           arguments: [Date().addingTimeInterval(-age.timeInterval)])
        }
    }
}
