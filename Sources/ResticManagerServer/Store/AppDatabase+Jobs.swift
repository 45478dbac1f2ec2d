import Foundation
import GRDB
import ResticManagerProtocol

/// Filters of `GET /api/v1/jobs`.
public struct JobFilter: Sendable, Equatable {
    public var hostID: HostID?
    public var status: JobStatus?
    public var kind: JobKind?

    public init(hostID: HostID? = nil, status: JobStatus? = nil, kind: JobKind? = nil) {
        self.hostID = hostID
        self.status = status
        self.kind = kind
    }
}

/// The error text of a job the server finished because its agent came back without it.
public let agentRestartedDuringJob = "agent restarted during job"

extension AppDatabase {
    public func createJob(
        hostID: HostID, scheduleID: ScheduleID?, kind: JobKind, trigger: JobTrigger, args: [String],
        restore: JobRestore? = nil, expiresAfter: Duration, by who: AuditActor
    ) async throws -> JobRecord {
        try await write { tx in
            let now = Date()
            let job = JobRecord(
                id: .random(), hostId: hostID, scheduleId: scheduleID, kind: kind, trigger: trigger, args: args,
                status: .queued, queuedAt: now, dispatchedAt: nil, acceptedAt: nil, startedAt: nil, finishedAt: nil,
                expiresAt: now.addingTimeInterval(expiresAfter.timeInterval), exitCode: nil, stats: nil, error: nil,
                progress: nil, requestedBy: who.actor, restore: restore)
            try tx.insert(job)
            var details = ["host_id": hostID.rawValue, "kind": kind.rawValue]
            if let scheduleID { details["schedule_id"] = scheduleID.rawValue }
            if let restore {
                details["snapshot_id"] = restore.snapshotId
                details["target"] = restore.target
                details["source_host_id"] = restore.sourceHostId.rawValue
            }
            try audit(tx, who, action: "job.create", targetType: "job", targetID: job.id.rawValue, details: details)
            return job
        }
    }

    public func job(id: JobID) async throws -> JobRecord? {
        try await read { tx in try tx.fetchOne(JobRecord.self, id: id) }
    }

    public func listJobs(filter: JobFilter, page: Page) async throws -> PageResult<JobRecord> {
        try await read { tx in
            var conditions = SQLConditions()
            if let host = filter.hostID { conditions.add("host_id = ?", [host]) }
            if let status = filter.status { conditions.add("status = ?", [status]) }
            if let kind = filter.kind { conditions.add("kind = ?", [kind]) }
            return try fetchPage(tx, JobRecord.self, conditions, page: page)
        }
    }

    /// Queued jobs of a host that the agent has not accepted yet, oldest
    /// first. Expired ones are failed on the way, never dispatched.
    public func jobsToDispatch(hostID: HostID) async throws -> [JobRecord] {
        try await write { tx in
            let now = Date()
            try tx.execute(
                """
                UPDATE jobs SET status = 'failed', finished_at = ?,
                error = 'not dispatched: the host stayed offline until the job expired'
                WHERE host_id = ? AND status = 'queued' AND accepted_at IS NULL AND expires_at < ?
                """, [now, hostID, now])
            return try tx.fetchAll(
                JobRecord.self,
                "SELECT * FROM jobs WHERE host_id = ? AND status = 'queued' AND accepted_at IS NULL ORDER BY queued_at",
                [hostID])
        }
    }

    /// Fails queued jobs of offline hosts that outlived their expiry.
    public func expireQueuedJobs() async throws -> Int {
        try await write { tx in
            try tx.execute(
                """
                UPDATE jobs SET status = 'failed', finished_at = ?,
                error = 'not dispatched: the host stayed offline until the job expired'
                WHERE status = 'queued' AND accepted_at IS NULL AND expires_at < ?
                """, [Date(), Date()])
        }
    }

    public func markDispatched(jobID: JobID) async throws {
        try await write { tx in
            try tx.execute("UPDATE jobs SET dispatched_at = ? WHERE id = ?", [Date(), jobID])
            if let job = try tx.fetchOne(JobRecord.self, id: jobID) {
                try audit(tx, AuditActor.system, action: "job.dispatch", targetType: "job", targetID: jobID.rawValue,
                          details: ["host_id": job.hostId.rawValue])
            }
        }
    }

    /// Cancels a job. A queued job the agent has not accepted ends at once;
    /// otherwise the caller forwards `command.cancel` and the agent reports
    /// the end. Returns the job after the change.
    public func cancelJob(id: JobID, by who: AuditActor) async throws -> JobRecord {
        try await write { tx in
            guard var job = try tx.fetchOne(JobRecord.self, id: id) else { throw StoreError.notFound("job") }
            guard !job.status.isTerminal else {
                throw StoreError.conflict("job \(id) already ended (\(job.status.rawValue))")
            }
            // An accepted job is the agent's to end: it may be starting it
            // right now, and its report says what really happened.
            if job.status == .queued, job.acceptedAt == nil {
                job.status = .cancelled
                job.finishedAt = Date()
                job.error = "cancelled by \(who.actor) before it started"
                try tx.update(job)
            }
            try audit(tx, who, action: "job.cancel", targetType: "job", targetID: id.rawValue,
                      details: ["host_id": job.hostId.rawValue])
            return job
        }
    }

    /// Jobs the server believes are running or accepted on a host that says
    /// it no longer holds them are failed with `agent restarted during job`.
    public func failOrphanedJobs(hostID: HostID, activeJobIDs: Set<String>) async throws -> [JobID] {
        try await write { tx in
            let candidates = try tx.fetchAll(
                JobRecord.self,
                """
                SELECT * FROM jobs WHERE host_id = ?
                AND (status = 'running' OR (status = 'queued' AND accepted_at IS NOT NULL))
                """, [hostID])
            var orphaned: [JobID] = []
            for var job in candidates where !activeJobIDs.contains(job.id.rawValue) {
                job.status = .failed
                job.finishedAt = Date()
                job.error = agentRestartedDuringJob
                try tx.update(job)
                // The job never reported its end: its ping says it failed.
                if job.startedAt != nil {
                    try enqueuePing(tx, scheduleID: job.scheduleId, jobID: job.id, event: .pingFail, now: Date())
                }
                orphaned.append(job.id)
            }
            return orphaned
        }
    }

    public func jobLogs(jobID: JobID, afterSeq: Int64, limit: Int) async throws -> [JobLogRecord] {
        try await read { tx in
            try tx.fetchAll(
                JobLogRecord.self, "SELECT * FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                [jobID, afterSeq, limit])
        }
    }
}
