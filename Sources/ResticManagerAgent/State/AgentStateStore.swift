import Foundation
import GRDB
import ResticManagerProtocol
import Synchronization

/// Why the local state could not be opened or used.
public enum AgentStateError: Error, Sendable, CustomStringConvertible {
    case cannotCreateDirectory(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    case notEnrolled(stateDirectory: String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason): "cannot create state directory \(path): \(reason)"
        case .cannotOpen(let path, let reason): "cannot open agent state \(path): \(reason)"
        case .notEnrolled(let dir):
            "this agent is not enrolled (no credential in \(dir)); run `restic-manager-agent enroll --server URL --token TOKEN` first"
        case .corrupt(let what): "agent state is corrupt: \(what)"
        }
    }
}

/// The agent's crash-safe local state (SPEC §4.6): one SQLite database in
/// WAL mode holding the credential, the last config, the schedule set, the
/// accepted jobs and the outbox.
///
/// Every change that also produces a message for the server (a job
/// starting, a log line, a result) commits the state change and the outbox
/// entry in one transaction, so after a crash both or neither exist.
public struct AgentStateStore: Sendable {
    /// The error text of a job found `running` at start-up.
    public static let restartedDuringJob = "agent restarted during job"
    /// Finished jobs kept for `status`.
    static let finishedJobsKept = 200

    let writer: any DatabaseWriter
    /// Wakes the connection when the outbox grows.
    public let outboxSignal = ChangeSignal()

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try StateMigrations.migrator.migrate(writer)
    }

    /// The database file inside a state directory.
    public static func databasePath(stateDirectory: String) -> String {
        (stateDirectory as NSString).appendingPathComponent("agent.sqlite")
    }

    /// Opens (creating if needed) the state in `stateDirectory`: the
    /// directory mode 0700, the database files 0600.
    public static func open(stateDirectory: String) throws(AgentStateError) -> AgentStateStore {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o700])
            try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: stateDirectory)
        } catch {
            throw .cannotCreateDirectory(path: stateDirectory, reason: "\(error.localizedDescription)")
        }
        let path = databasePath(stateDirectory: stateDirectory)
        // The credential and repository secrets live in this file: nobody
        // but the agent's user may read it, including its WAL and SHM files.
        #if !os(Windows)
            let oldMask = umask(0o077)
            defer { umask(oldMask) }
        #endif
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // NORMAL is durable in WAL mode across crashes of the agent
                // (the case SPEC §4.6 is about); only an OS crash or power
                // loss can drop the last transactions. FULL would fsync every
                // log line of a job.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            for suffix in ["", "-wal", "-shm"] where manager.fileExists(atPath: path + suffix) {
                try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path + suffix)
            }
            return try AgentStateStore(pool)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// A fresh in-memory store, for tests.
    public static func inMemory() throws -> AgentStateStore {
        try AgentStateStore(DatabaseQueue())
    }

    // MARK: Credential

    /// Saves the credential. Enrolling as a different host starts from a
    /// clean slate: the old host's config, schedules, jobs and unsent events
    /// belong to a host this agent no longer is.
    public func saveCredential(_ credential: AgentCredential) async throws {
        try await writer.write { db in
            let previous = try String.fetchOne(db, sql: "SELECT host_id FROM credential WHERE id = 1")
            if let previous, previous != credential.hostID {
                for table in ["repo_config", "schedule_set", "schedules", "jobs", "outbox", "agent_meta"] {
                    try db.execute(sql: "DELETE FROM \(table)")
                }
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO credential (id, server_url, agent_token, host_id, enrolled_at)
                    VALUES (1, ?, ?, ?, ?)
                    """,
                arguments: [credential.serverURL, credential.agentToken, credential.hostID, credential.enrolledAt])
        }
    }

    public func credential() async throws -> AgentCredential? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM credential WHERE id = 1").map {
                AgentCredential(serverURL: $0["server_url"], agentToken: $0["agent_token"], hostID: $0["host_id"],
                                enrolledAt: $0["enrolled_at"])
            }
        }
    }

    // MARK: Config

    public func config() async throws -> StoredConfig {
        try await writer.read { db in try Self.config(db) }
    }

    static func config(_ db: Database) throws -> StoredConfig {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM repo_config WHERE id = 1") else { return StoredConfig() }
        return StoredConfig(
            repoURL: row["repo_url"], repoPassword: row["repo_password"], repoUsername: row["repo_username"],
            repoCredential: row["repo_credential"], hookShell: row["hook_shell"], updatedAt: row["updated_at"])
    }

    /// Merges a `config.update` into the stored config (empty = keep) and
    /// returns the result.
    @discardableResult
    public func applyConfigUpdate(_ update: ConfigUpdatePayload, at date: Date = Date()) async throws -> StoredConfig {
        try await writer.write { db in
            let merged = try Self.config(db).merging(update, at: date)
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO repo_config
                        (id, repo_url, repo_password, repo_username, repo_credential, hook_shell, updated_at)
                    VALUES (1, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [merged.repoURL, merged.repoPassword, merged.repoUsername, merged.repoCredential,
                            merged.hookShell, merged.updatedAt])
            return merged
        }
    }

    // MARK: Schedules

    public func scheduleSet() async throws -> StoredScheduleSet {
        try await writer.read { db in try Self.scheduleSet(db) }
    }

    static func scheduleSet(_ db: Database) throws -> StoredScheduleSet {
        let meta = try Row.fetchOne(db, sql: "SELECT version, applied_at FROM schedule_set WHERE id = 1")
        let definitions = try String.fetchAll(db, sql: "SELECT definition FROM schedules ORDER BY position")
        let decoder = JSONDecoder()
        let schedules = try definitions.map { try decoder.decode(Schedule.self, from: Data($0.utf8)) }
        return StoredScheduleSet(version: meta?["version"] ?? 0, appliedAt: meta?["applied_at"], schedules: schedules)
    }

    /// Replaces the whole schedule set in one transaction and queues the
    /// `schedule.ack` in the same transaction: either the new set and its
    /// ack exist, or the old set does.
    public func replaceSchedules(_ set: ScheduleSetPayload, at date: Date = Date()) async throws {
        let encoder = Self.jsonEncoder
        let definitions = try set.schedules.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM schedules")
            for (position, (schedule, definition)) in zip(set.schedules, definitions).enumerated() {
                try db.execute(sql: "INSERT INTO schedules (id, position, definition) VALUES (?, ?, ?)",
                               arguments: [schedule.id, position, definition])
            }
            try db.execute(sql: "INSERT OR REPLACE INTO schedule_set (id, version, applied_at) VALUES (1, ?, ?)",
                           arguments: [set.version, date])
            try Self.enqueue(db, .scheduleAck(ScheduleAckPayload(version: set.version, appliedAt: date)), at: date)
        }
        outboxSignal.notify()
    }

    // MARK: Jobs

    /// Records a newly accepted job as `queued`, with `reply` (the
    /// `command.result`) in the same transaction.
    public func acceptJob(_ job: AcceptedJob, reply: Message? = nil) async throws {
        let args = String(decoding: try Self.jsonEncoder.encode(job.args), as: UTF8.self)
        func json(_ value: (some Encodable)?) throws -> String? {
            try value.map { String(decoding: try Self.jsonEncoder.encode($0), as: UTF8.self) }
        }
        let schedule = try json(job.schedule)
        let restore = try json(job.restore)
        // The source's secrets stay in memory (``RestoreSourceSecrets``):
        // another host's repository password is never at rest on this one.
        let source = try json(job.source.map { RepositorySource(repoURL: $0.repoURL, repoUsername: $0.repoUsername,
                                                                repoPassword: "", repoCredential: "") })
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, kind, trigger, schedule_id, args, schedule, restore, source, status, queued_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [job.id, job.kind.rawValue, job.trigger.rawValue, job.scheduleID, args, schedule, restore,
                            source, job.status.rawValue, job.queuedAt])
            if let reply { try Self.enqueue(db, reply, at: Date()) }
        }
        if reply != nil { outboxSignal.notify() }
    }

    public func job(id: String) async throws -> AcceptedJob? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(Self.job(from:))
        }
    }

    /// Queued jobs in the order they were accepted.
    public func queuedJobs() async throws -> [AcceptedJob] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE status = 'queued' ORDER BY queued_at, rowid")
                .map(Self.job(from:))
        }
    }

    /// The newest jobs first, at most `limit`.
    public func recentJobs(limit: Int) async throws -> [AcceptedJob] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY queued_at DESC, rowid DESC LIMIT ?",
                             arguments: [limit]).map(Self.job(from:))
        }
    }

    /// Whether a job of this schedule is queued or running.
    public func hasActiveJob(scheduleID: String) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE schedule_id = ? AND status IN ('queued', 'running'))",
                arguments: [scheduleID]) ?? false
        }
    }

    /// Ids of the jobs this agent still holds for `hello.active_jobs`:
    /// queued, running, or with events not yet acked.
    public func activeJobIDs() async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM jobs WHERE status IN ('queued', 'running')
                    UNION SELECT DISTINCT job_id FROM outbox WHERE job_id IS NOT NULL
                    """)
        }
    }

    /// Marks a queued job running and queues `job.started`. Returns false,
    /// changing nothing, when the job is no longer queued (cancelled meanwhile).
    @discardableResult
    public func markRunning(_ job: AcceptedJob, at date: Date = Date()) async throws -> Bool {
        let started = try await writer.write { db in
            try db.execute(sql: "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'",
                           arguments: [date, job.id])
            guard db.changesCount > 0 else { return false }
            try Self.enqueue(
                db,
                .jobStarted(JobStartedPayload(jobID: job.id, kind: job.kind, startedAt: date,
                                              scheduleID: job.scheduleID, trigger: job.trigger)),
                at: date)
            return true
        }
        if started { outboxSignal.notify() }
        return started
    }

    /// Finishes a job `cancelled` if it is still queued; returns whether it was.
    public func cancelQueuedJob(id: String, error: String, at date: Date = Date()) async throws -> Bool {
        let cancelled = try await writer.write { db in
            guard try String.fetchOne(db, sql: "SELECT status FROM jobs WHERE id = ?", arguments: [id]) == "queued" else {
                return false
            }
            try Self.finish(db, id: id, status: .cancelled, exitCode: JobOutcome.noExitCode, error: error, stats: nil, at: date)
            return true
        }
        if cancelled { outboxSignal.notify() }
        return cancelled
    }

    /// Queues one log line of a job, numbering it with the job's next `seq`.
    @discardableResult
    public func appendLog(jobID: String, stream: LogStreamKind, text: String, at date: Date = Date()) async throws -> Int64 {
        try await appendLogs([PendingLogLine(jobID: jobID, stream: stream, text: text, at: date)])[0]
    }

    /// Queues log lines in one transaction, each numbered with its job's
    /// next `seq` in the order given; returns the seqs.
    public func appendLogs(_ lines: [PendingLogLine]) async throws -> [Int64] {
        guard !lines.isEmpty else { return [] }
        let seqs = try await writer.write { db in
            var next: [String: Int64] = [:]
            var seqs: [Int64] = []
            for line in lines {
                let seq = try next[line.jobID]
                    ?? Int64.fetchOne(db, sql: "SELECT next_log_seq FROM jobs WHERE id = ?", arguments: [line.jobID]) ?? 1
                next[line.jobID] = seq + 1
                try Self.enqueue(
                    db, .logStream(LogStreamLine(jobID: line.jobID, seq: seq, ts: line.at, stream: line.stream,
                                                 payload: line.text)),
                    at: line.at)
                seqs.append(seq)
            }
            for (jobID, seq) in next {
                try db.execute(sql: "UPDATE jobs SET next_log_seq = ? WHERE id = ?", arguments: [seq, jobID])
            }
            return seqs
        }
        outboxSignal.notify()
        return seqs
    }

    /// Queues messages that change no job state (progress, reports).
    public func enqueue(_ messages: [Message], at date: Date = Date()) async throws {
        guard !messages.isEmpty else { return }
        try await writer.write { db in
            for message in messages { try Self.enqueue(db, message, at: date) }
        }
        outboxSignal.notify()
    }

    /// Finishes a job (queued or running) and queues `job.finished`.
    public func finishJob(
        id: String, status: JobStatus, exitCode: Int, error: String?, stats: RawJSON? = nil, at date: Date = Date()
    ) async throws {
        try await writer.write { db in
            try Self.finish(db, id: id, status: status, exitCode: exitCode, error: error, stats: stats, at: date)
        }
        outboxSignal.notify()
    }

    private static func finish(
        _ db: Database, id: String, status: JobStatus, exitCode: Int, error: String?, stats: RawJSON?, at date: Date
    ) throws {
        try db.execute(
            sql: "UPDATE jobs SET status = ?, finished_at = ?, exit_code = ?, error = ? WHERE id = ?",
            arguments: [status.rawValue, date, exitCode, error, id])
        try enqueue(
            db,
            .jobFinished(JobFinishedPayload(jobID: id, status: status, exitCode: exitCode, finishedAt: date,
                                            stats: stats, error: error)),
            at: date)
        // Keep the newest finished jobs for `status`; the server has the rest.
        try db.execute(
            sql: """
                DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND id NOT IN (
                    SELECT id FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')
                    ORDER BY finished_at DESC LIMIT ?)
                """, arguments: [finishedJobsKept])
    }

    /// Start-up recovery (SPEC §5 "Lost jobs"): every job left `running` by
    /// a previous process is finished `failed` through the outbox. Returns
    /// their ids.
    public func failInterruptedJobs(at date: Date = Date()) async throws -> [String] {
        let ids = try await writer.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM jobs WHERE status = 'running' ORDER BY rowid")
            for id in ids {
                try Self.finish(db, id: id, status: .failed, exitCode: -1, error: Self.restartedDuringJob, stats: nil,
                                at: date)
            }
            return ids
        }
        if !ids.isEmpty { outboxSignal.notify() }
        return ids
    }

    private static func job(from row: Row) throws -> AcceptedJob {
        let decoder = JSONDecoder()
        let argsText: String = row["args"]
        let scheduleText: String? = row["schedule"]
        let restoreText: String? = row["restore"]
        let sourceText: String? = row["source"]
        guard let kind = JobKind(rawValue: row["kind"]), let trigger = JobTrigger(rawValue: row["trigger"]),
            let status = JobStatus(rawValue: row["status"])
        else { throw AgentStateError.corrupt("job \(row["id"] as String? ?? "?") has an unknown kind or status") }
        return AcceptedJob(
            id: row["id"], kind: kind, trigger: trigger, scheduleID: row["schedule_id"],
            args: try decoder.decode([String].self, from: Data(argsText.utf8)),
            schedule: try scheduleText.map { try decoder.decode(Schedule.self, from: Data($0.utf8)) },
            restore: try restoreText.map { try decoder.decode(RestoreRequest.self, from: Data($0.utf8)) },
            source: try sourceText.map { try decoder.decode(RepositorySource.self, from: Data($0.utf8)) },
            status: status, queuedAt: row["queued_at"], startedAt: row["started_at"], finishedAt: row["finished_at"],
            exitCode: row["exit_code"], error: row["error"])
    }

    // MARK: Outbox

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// Queues `message` as the frame it will be sent as: the envelope codec
    /// writes it once, here, so raw JSON (`stats`) keeps its exact bytes.
    private static func enqueue(_ db: Database, _ message: Message, at date: Date) throws {
        let jobID = try OutboxCoding.jobID(of: message)
        let envelope = Envelope(id: UUID().uuidString.lowercased(), ts: date, message: message)
        try db.execute(
            sql: "INSERT INTO outbox (id, type, frame, job_id, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [envelope.id, message.type.rawValue, EnvelopeCodec.encode(envelope), jobID, date])
    }

    /// Entries after `seq` in order, at most `limit`.
    public func outbox(after seq: Int64 = 0, limit: Int = 500) async throws -> [OutboxEntry] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit])
                .map { row in
                    guard let type = MessageType(rawValue: row["type"]) else {
                        throw AgentStateError.corrupt("outbox entry of unknown type \(row["type"] as String? ?? "?")")
                    }
                    return OutboxEntry(seq: row["seq"], id: row["id"], type: type, frame: row["frame"],
                                       createdAt: row["created_at"])
                }
        }
    }

    public func outboxCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0 }
    }

    /// Removes the entries an `ack` names; returns how many were removed.
    @discardableResult
    public func acknowledge(ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await writer.write { db in
            var removed = 0
            for id in ids {
                try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [id])
                removed += db.changesCount
            }
            return removed
        }
    }

    /// Removes the entry an `error` refers to; returns it if it existed.
    public func dropRefused(id: String) async throws -> OutboxEntry? {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]),
                let type = MessageType(rawValue: row["type"])
            else { return nil }
            try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [id])
            return OutboxEntry(seq: row["seq"], id: row["id"], type: type, frame: row["frame"],
                               createdAt: row["created_at"])
        }
    }

    // MARK: Small facts

    public func connectionRecord() async throws -> ConnectionRecord? {
        guard let text = try await meta("connection"), let object = Self.decodeObject(text),
            let state = object["state"].flatMap(ConnectionRecord.State.init(rawValue:)),
            let changed = object["changed_at"].flatMap(RFC3339.parse)
        else { return nil }
        return ConnectionRecord(
            state: state, changedAt: changed, lastConnectedAt: object["last_connected_at"].flatMap(RFC3339.parse),
            lastError: object["last_error"], pid: object["pid"].flatMap { Int32($0) })
    }

    public func saveConnectionRecord(_ record: ConnectionRecord) async throws {
        var object = ["state": record.state.rawValue, "changed_at": RFC3339.format(record.changedAt)]
        object["last_connected_at"] = record.lastConnectedAt.map(RFC3339.format)
        object["last_error"] = record.lastError
        object["pid"] = record.pid.map { String($0) }
        try await setMeta("connection", Self.encodeObject(object))
    }

    public func lastCheck() async throws -> CheckRecord? {
        guard let text = try await meta("last_check"), let object = Self.decodeObject(text),
            let at = object["at"].flatMap(RFC3339.parse), let status = object["status"]
        else { return nil }
        return CheckRecord(at: at, status: status)
    }

    public func saveLastCheck(_ record: CheckRecord) async throws {
        try await setMeta("last_check", Self.encodeObject(["at": RFC3339.format(record.at), "status": record.status]))
    }

    /// When snapshots and stats were last reported.
    public func lastReportAt() async throws -> Date? {
        try await meta("last_report_at").flatMap(RFC3339.parse)
    }

    public func saveLastReportAt(_ date: Date) async throws {
        try await setMeta("last_report_at", RFC3339.format(date))
    }

    public func updateNotice() async throws -> UpdateNotice? {
        guard let text = try await meta("update_available"), let object = Self.decodeObject(text),
            let version = object["latest_version"], let url = object["package_url"],
            let at = object["received_at"].flatMap(RFC3339.parse)
        else { return nil }
        return UpdateNotice(latestVersion: version, packageURL: url, receivedAt: at)
    }

    public func saveUpdateNotice(_ notice: UpdateNotice) async throws {
        try await setMeta("update_available", Self.encodeObject([
            "latest_version": notice.latestVersion, "package_url": notice.packageURL,
            "received_at": RFC3339.format(notice.receivedAt),
        ]))
    }

    func meta(_ key: String) async throws -> String? {
        try await writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM agent_meta WHERE key = ?", arguments: [key]) }
    }

    func setMeta(_ key: String, _ value: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO agent_meta (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    private static func encodeObject(_ object: [String: String]) -> String {
        (try? String(decoding: jsonEncoder.encode(object), as: UTF8.self)) ?? "{}"
    }

    private static func decodeObject(_ text: String) -> [String: String]? {
        try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}

/// Wakes whoever waits for a change (outbox entries added, schedules
/// replaced, jobs queued). Each subscriber
/// gets its own stream that holds at most one pending wake-up.
public final class ChangeSignal: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<Void>.Continuation]>([:])

    public init() {}

    public func notify() {
        subscribers.withLock { for continuation in $0.values { continuation.yield() } }
    }

    /// A stream of wake-ups; it ends its subscription when the stream is dropped.
    public func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let key = UUID()
        subscribers.withLock { $0[key] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: key) }
        }
        return stream
    }
}

/// Which messages go through the outbox, and the job each belongs to.
enum OutboxCoding {
    /// The job a message belongs to (for `hello.active_jobs`), or nil;
    /// throws for a message that is never queued.
    static func jobID(of message: Message) throws(OutboxCodingError) -> String? {
        switch message {
        case .scheduleAck, .commandResult, .snapshotsReport, .repoStats: nil
        case .jobStarted(let p): p.jobID
        case .jobProgress(let p): p.jobID
        case .jobFinished(let p): p.jobID
        case .logStream(let p): p.jobID
        case .hello, .error, .heartbeat, .configUpdate, .scheduleSet, .commandRun, .commandCancel, .agentUpdateAvailable,
            .snapshotLs, .snapshotLsResult, .ack:
            throw OutboxCodingError(type: message.type)
        }
    }
}

/// A message that never goes through the outbox.
struct OutboxCodingError: Error, CustomStringConvertible {
    let type: MessageType
    var description: String { "\(type.rawValue) is not an outbox message" }
}
