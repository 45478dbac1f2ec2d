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

/// What one ingest transaction knows besides the database: whose messages
/// these are, the batch's clock, the job owners looked up so far and the
/// report being built.
private struct IngestBatch {
    let hostID: HostID
    let now: Date
    var jobOwners: [String: HostID] = [:]
    var report = IngestReport()
}

extension AppDatabase {
    /// Applies a batch of agent messages in one transaction, each message id
    /// at most once (SPEC §6.4). Nothing is acked before this returns, so a
    /// crash before commit only means the agent sends the batch again.
    public func ingest(hostID: HostID, envelopes: [Envelope]) async throws -> IngestReport {
        try await write { tx in
            var batch = IngestBatch(hostID: hostID, now: Date())
            // Consecutive log lines (most of a batch) are written together,
            // where the run ends: the order of writes stays the order of messages.
            var lines: [(id: String, line: LogStreamLine)] = []
            for envelope in envelopes {
                if case .logStream(let line) = envelope.message {
                    lines.append((envelope.id, line))
                    continue
                }
                try insertLogLines(tx, &lines, &batch)
                do {
                    // A savepoint per message: a refused message leaves no trace.
                    let outcome = try tx.savepoint { try apply(tx, envelope, &batch) }
                    batch.report.outcomes.append((envelope.id, outcome))
                } catch let refusal as Refusal {
                    batch.report.outcomes.append((envelope.id, .refused(refusal.code, refusal.reason)))
                }
            }
            try insertLogLines(tx, &lines, &batch)
            return batch.report
        }
    }

    /// Every message but a log line: applied once per message id.
    private func apply(_ tx: any StoreTransaction, _ envelope: Envelope, _ batch: inout IngestBatch) throws
        -> IngestOutcome
    {
        let seen = try tx.execute(
            "INSERT INTO processed_messages (host_id, message_id, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [batch.hostID, envelope.id, batch.now])
        guard seen > 0 else { return .duplicate }

        switch envelope.message {
        case .scheduleAck(let ack): try applyScheduleAck(tx, ack, &batch)
        case .commandResult(let result): try applyCommandResult(tx, result, &batch)
        case .jobStarted(let started): try applyJobStarted(tx, started, &batch)
        case .jobProgress(let progress): try applyJobProgress(tx, progress, &batch)
        case .jobFinished(let finished): try applyJobFinished(tx, finished, &batch)
        case .snapshotsReport(let snapshots):
            try replaceSnapshots(tx, hostID: batch.hostID, with: snapshots)
        case .repoStats(let stats):
            try insertRepoStats(tx, hostID: batch.hostID, stats, reportedAt: envelope.ts)
            batch.report.changedAlertFacts = true
        case .error:
            // An agent's complaint about one of our messages: recorded by the
            // caller's log; nothing to store.
            break
        default:
            throw Refusal(code: .badMessage, reason: "\(envelope.message.type.rawValue) is not accepted from an agent here")
        }
        return .applied
    }

    /// Log lines are idempotent by `(job_id, seq)`, not by message id: a
    /// replay under a new message id changes nothing. Checked before they
    /// are written, so a refused line needs no savepoint: one bulk insert.
    private func insertLogLines(
        _ tx: any StoreTransaction, _ lines: inout [(id: String, line: LogStreamLine)], _ batch: inout IngestBatch
    ) throws {
        guard !lines.isEmpty else { return }
        defer { lines.removeAll(keepingCapacity: true) }
        var bulk = BulkInsert(
            table: "job_logs",
            columns: [("job_id", .text), ("seq", .bigint), ("ts", .text), ("stream", .text), ("payload", .text)],
            key: [0, 1])
        // nil: written by the bulk insert, whose result says applied or duplicate.
        var refusals: [IngestOutcome?] = []
        for (_, line) in lines {
            do {
                try requireOwnJob(tx, line.jobID, &batch)
                // `StoredDate.text` is the text GRDB would store for `line.ts`, made without ICU.
                bulk.append([
                    line.jobID.databaseValue, line.seq.databaseValue, StoredDate.text(line.ts).databaseValue,
                    line.stream.rawValue.databaseValue, line.payload.databaseValue,
                ])
                batch.report.touchedJobs.insert(JobID(line.jobID))
                refusals.append(nil)
            } catch let refusal as Refusal {
                refusals.append(.refused(refusal.code, refusal.reason))
            }
        }
        var inserted = try tx.insert(bulk).makeIterator()
        for ((id, _), refusal) in zip(lines, refusals) {
            let outcome = refusal ?? ((inserted.next() ?? false) ? .applied : .duplicate)
            batch.report.outcomes.append((id, outcome))
        }
    }

    /// Acks only move forward, and never past what the server asked for.
    private func applyScheduleAck(_ tx: any StoreTransaction, _ ack: ScheduleAckPayload, _ batch: inout IngestBatch) throws {
        try tx.execute(
            """
            UPDATE host_schedule_version SET acked_version = ?, acked_at = ?
            WHERE host_id = ? AND ? <= desired_version AND ? > acked_version
            """, [ack.version, ack.appliedAt, batch.hostID, ack.version, ack.version])
        batch.report.changedAlertFacts = true
    }

    /// Accepted: noted. Refused: the queued job fails with the agent's reason.
    private func applyCommandResult(_ tx: any StoreTransaction, _ result: CommandResultPayload, _ batch: inout IngestBatch)
        throws
    {
        try requireOwnJob(tx, result.jobID, &batch)
        if result.accepted {
            try tx.execute("UPDATE jobs SET accepted_at = COALESCE(accepted_at, ?) WHERE id = ?", [batch.now, result.jobID])
        } else {
            try tx.execute(
                "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ? AND status = 'queued'",
                [batch.now, "the agent refused the job: \(result.error ?? "no reason given")", result.jobID])
            batch.report.changedAlertFacts = true
        }
        batch.report.touchedJobs.insert(JobID(result.jobID))
    }

    /// A dispatched job starts, or a scheduled run the agent minted becomes
    /// known; either way its schedule's start ping is written.
    private func applyJobStarted(_ tx: any StoreTransaction, _ started: JobStartedPayload, _ batch: inout IngestBatch)
        throws
    {
        batch.report.touchedJobs.insert(JobID(started.jobID))
        batch.report.changedAlertFacts = true
        let scheduleID: ScheduleID?
        if var job = try tx.fetchOne(JobRecord.self, id: started.jobID) {
            guard job.hostId == batch.hostID else {
                throw Refusal(code: .forbidden, reason: "job \(started.jobID.prefix(64)) belongs to another host")
            }
            guard job.status == .queued else { return }
            job.status = .running
            job.startedAt = started.startedAt
            job.acceptedAt = job.acceptedAt ?? started.startedAt
            try tx.update(job)
            scheduleID = job.scheduleId
        } else {
            scheduleID = try insertScheduledRun(tx, started, &batch)
        }
        if try enqueuePing(tx, scheduleID: scheduleID, jobID: JobID(started.jobID), event: .pingStart, now: batch.now) {
            batch.report.wroteNotifications = true
        }
    }

    /// A scheduled run: the agent minted the id and the server learns of it now.
    private func insertScheduledRun(_ tx: any StoreTransaction, _ started: JobStartedPayload, _ batch: inout IngestBatch) throws
        -> ScheduleID?
    {
        var scheduleID: ScheduleID?
        if let id = started.scheduleID, !id.isEmpty {
            let owner = try tx.value(HostID.self, "SELECT host_id FROM schedules WHERE id = ?", [id])
            if owner != nil, owner != batch.hostID {
                throw Refusal(code: .forbidden, reason: "schedule \(id.prefix(64)) belongs to another host")
            }
            scheduleID = ScheduleID(id)
        }
        try tx.insert(JobRecord(
            id: JobID(started.jobID), hostId: batch.hostID, scheduleId: scheduleID, kind: started.kind,
            trigger: started.trigger ?? (scheduleID == nil ? .api : .schedule), args: [], status: .running,
            queuedAt: started.startedAt, dispatchedAt: nil, acceptedAt: started.startedAt, startedAt: started.startedAt,
            finishedAt: nil, expiresAt: nil, exitCode: nil, stats: nil, error: nil, progress: nil,
            requestedBy: "agent:\(batch.hostID)"))
        batch.jobOwners[started.jobID] = batch.hostID
        return scheduleID
    }

    /// The latest progress of a running job, for viewers.
    private func applyJobProgress(_ tx: any StoreTransaction, _ progress: JobProgressPayload, _ batch: inout IngestBatch)
        throws
    {
        try requireOwnJob(tx, progress.jobID, &batch)
        let text = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
        try tx.execute("UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'", [text, progress.jobID])
        batch.report.touchedJobs.insert(JobID(progress.jobID))
    }

    /// The agent's result ends the job — also one the server had declared
    /// lost (`agent restarted during job`): it may arrive late, from the
    /// outbox, after a reconnect. The end ping is written unless that
    /// verdict already sent it.
    private func applyJobFinished(_ tx: any StoreTransaction, _ finished: JobFinishedPayload, _ batch: inout IngestBatch)
        throws
    {
        try requireOwnJob(tx, finished.jobID, &batch)
        batch.report.touchedJobs.insert(JobID(finished.jobID))
        batch.report.changedAlertFacts = true
        guard var job = try tx.fetchOne(JobRecord.self, id: finished.jobID) else { return }
        let overridesVerdict = job.status == .failed && job.error == agentRestartedDuringJob
        guard !job.status.isTerminal || overridesVerdict else { return }
        job.status = finished.status
        job.exitCode = finished.exitCode
        job.finishedAt = finished.finishedAt
        job.stats = finished.stats?.text
        job.error = finished.error.flatMap { $0.isEmpty ? nil : $0 }
        job.startedAt = job.startedAt ?? finished.finishedAt
        try tx.update(job)
        batch.report.finishedJobs.append(job)
        if !overridesVerdict, try enqueuePing(
            tx, scheduleID: job.scheduleId, jobID: job.id,
            event: job.status == .succeeded ? .pingSuccess : .pingFail, now: batch.now)
        {
            batch.report.wroteNotifications = true
        }
    }

    private func requireOwnJob(_ tx: any StoreTransaction, _ jobID: String, _ batch: inout IngestBatch) throws {
        let owner: HostID?
        if let cached = batch.jobOwners[jobID] {
            owner = cached
        } else {
            owner = try tx.value(HostID.self, "SELECT host_id FROM jobs WHERE id = ?", [jobID])
            if let owner { batch.jobOwners[jobID] = owner }
        }
        guard let owner else {
            throw Refusal(code: .badMessage, reason: "job \(jobID.prefix(64)) is unknown; send job.started first")
        }
        guard owner == batch.hostID else {
            throw Refusal(code: .forbidden, reason: "job \(jobID.prefix(64)) belongs to another host")
        }
    }

    /// Forgets processed message ids older than `age`; agents never replay
    /// messages that old (their outbox drains on every connection).
    public func pruneProcessedMessages(olderThan age: Duration) async throws {
        try await write { tx in
            try tx.execute("DELETE FROM processed_messages WHERE processed_at < ?",
                           [Date().addingTimeInterval(-age.timeInterval)])
        }
    }
}
