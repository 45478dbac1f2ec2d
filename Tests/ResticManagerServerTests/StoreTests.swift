import Foundation
import GRDB
import ResticManagerCrypto
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// A fresh database file in a temporary directory, removed afterwards.
extension AppDatabase {
    /// The SQLite file's own writer, for tests that read what only SQLite has
    /// (pragmas, query plans, older files).
    func sqlite() throws -> any DatabaseWriter {
        guard let sqliteWriter else { throw StoreError.invalid("this test needs the SQLite engine") }
        return sqliteWriter
    }
}

struct TemporaryDatabase {
    let directory: URL
    let database: AppDatabase

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rm-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try AppDatabase.open(path: directory.appendingPathComponent("db.sqlite").path)
    }

    var path: String { directory.appendingPathComponent("db.sqlite").path }
}

@Suite struct MigrationTests {
    @Test func emptyFileGetsEverySpecTableInWALMode() async throws {
        let temp = try TemporaryDatabase()
        let tables = try await temp.database.sqlite().read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        let required = [
            "users", "sessions", "api_tokens", "enrollment_tokens", "hosts", "host_config", "schedules",
            "host_schedule_version", "jobs", "job_logs", "snapshots", "repo_stats", "audit_log", "alerts",
            "notification_channels", "alert_rules", "notifications", "job_outcomes",
        ]
        for table in required { #expect(tables.contains(table), "missing table \(table)") }
        let mode = try await temp.database.sqlite().read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let foreignKeys = try await temp.database.sqlite().read { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == true)
    }

    @Test func reopeningAMigratedFileKeepsItsData() async throws {
        let temp = try TemporaryDatabase()
        _ = try await temp.database.createUser(username: "alice", passwordHash: "x", role: .viewer, by: .system)
        let reopened = try AppDatabase.open(path: temp.path)
        #expect(try await reopened.user(username: "alice")?.role == .viewer)
        let applied = try await reopened.sqlite().read { db in try Migrations.migrator.appliedMigrations(db) }
        #expect(applied == Migrations.migrator.migrations)
    }
}

/// What either engine keeps of text holding a NUL: the part before it.
/// PostgreSQL refuses NUL in `text`; SQLite is handed C strings by GRDB.
@Suite struct StoredTextTests {
    @Test func textIsKeptUpToItsFirstNULOnEitherEngine() async throws {
        let database = try await AppDatabase.forTest()
        let user = try await database.createUser(username: "eve\u{0}admin", passwordHash: "x", role: .viewer, by: .system)
        #expect(try await database.user(username: "eve")?.id == user.id)
        #expect(try await database.user(username: "eve\u{0}other")?.id == user.id)
        let stored = try await database.read { tx in
            try tx.value(String.self, "SELECT username FROM users WHERE id = ?", [user.id])
        }
        #expect(stored == "eve")
    }
}

@Suite struct IngestTests {
    /// A host with one dispatched job, ready to receive agent messages.
    func fixture() async throws -> (AppDatabase, HostID, JobID) {
        let database = try await AppDatabase.forTest()
        let host = try #require(
            try await enrolledHost(database, hostname: "a"))
        let job = try await database.createJob(
            hostID: host, scheduleID: nil, kind: .backup, trigger: .manual, args: ["/etc"], expiresAfter: .seconds(60),
            by: .system)
        return (database, host, job.id)
    }

    func enrolledHost(_ database: AppDatabase, hostname: String) async throws -> HostID? {
        let token = Tokens.issue(.enrollment)
        _ = try await database.createEnrollmentToken(
            tokenHash: token.hash, note: "", expiresAt: Date().addingTimeInterval(60), replaceHostID: nil, by: .system)
        return try await database.enroll(
            enrollmentTokenHash: token.hash, hostname: hostname, os: "linux", arch: "amd64", name: nil,
            agentTokenHash: Tokens.issue(.agent).hash, ip: "")?.id
    }

    func logLine(_ job: JobID, seq: Int64, id: String = UUID().uuidString) -> Envelope {
        Envelope(id: id, message: .logStream(LogStreamLine(jobID: job.rawValue, seq: seq, ts: Date(), stream: .stdout, payload: "line \(seq)")))
    }

    @Test func replayedMessagesAreAppliedOnce() async throws {
        let (database, host, job) = try await fixture()
        let finished = Envelope(
            id: "finish-1",
            message: .jobFinished(JobFinishedPayload(jobID: job.rawValue, status: .succeeded, exitCode: 0, finishedAt: Date())))
        let batch = [logLine(job, seq: 1, id: "l1"), logLine(job, seq: 2, id: "l2"), finished]
        let first = try await database.ingest(hostID: host, envelopes: batch)
        #expect(first.outcomes.map(\.outcome) == [.applied, .applied, .applied])
        let replay = try await database.ingest(hostID: host, envelopes: batch)
        #expect(replay.outcomes.map(\.outcome) == [.duplicate, .duplicate, .duplicate])
        #expect(try await database.jobLogs(jobID: job, afterSeq: 0, limit: 10).count == 2)
        #expect(try await database.job(id: job)?.status == .succeeded)
    }

    @Test func sameSeqUnderANewMessageIDDoesNotDuplicateTheLine() async throws {
        let (database, host, job) = try await fixture()
        _ = try await database.ingest(hostID: host, envelopes: [logLine(job, seq: 7)])
        let again = try await database.ingest(hostID: host, envelopes: [logLine(job, seq: 7)])
        #expect(again.outcomes.map(\.outcome) == [.duplicate])
        #expect(try await database.jobLogs(jobID: job, afterSeq: 0, limit: 10).map(\.seq) == [7])
    }

    @Test func anotherHostsJobIsRefusedAndLeftUntouched() async throws {
        let (database, _, job) = try await fixture()
        let intruder = try #require(try await enrolledHost(database, hostname: "b"))
        let report = try await database.ingest(
            hostID: intruder,
            envelopes: [
                logLine(job, seq: 1),
                Envelope(message: .jobFinished(JobFinishedPayload(jobID: job.rawValue, status: .failed, exitCode: 1, finishedAt: Date()))),
            ])
        for (_, outcome) in report.outcomes {
            guard case .refused(let code, _) = outcome else {
                Issue.record("expected a refusal, got \(outcome)")
                continue
            }
            #expect(code == .forbidden)
        }
        #expect(try await database.jobLogs(jobID: job, afterSeq: 0, limit: 10).isEmpty)
        #expect(try await database.job(id: job)?.status == .queued)
    }

    @Test func orphanVerdictYieldsToTheAgentsLateResult() async throws {
        let (database, host, job) = try await fixture()
        _ = try await database.ingest(
            hostID: host,
            envelopes: [Envelope(message: .jobStarted(JobStartedPayload(jobID: job.rawValue, kind: .backup, startedAt: Date())))])
        #expect(try await database.failOrphanedJobs(hostID: host, activeJobIDs: []) == [job])
        #expect(try await database.job(id: job)?.error == agentRestartedDuringJob)
        _ = try await database.ingest(
            hostID: host,
            envelopes: [Envelope(message: .jobFinished(JobFinishedPayload(jobID: job.rawValue, status: .succeeded, exitCode: 0, finishedAt: Date())))])
        let final = try await database.job(id: job)
        #expect(final?.status == .succeeded)
        #expect(final?.error == nil)
    }
}

@Suite struct SecretAtRestTests {
    @Test func aSecretCopiedToAnotherHostsRowDoesNotOpen() async throws {
        let database = try await AppDatabase.forTest()
        let ingest = IngestTests()
        let hostA = try #require(try await ingest.enrolledHost(database, hostname: "a"))
        let hostB = try #require(try await ingest.enrolledHost(database, hostname: "b"))
        let box = SecretBox(key: try SecretKey(bytes: Array(repeating: 7, count: SecretKey.byteCount)))
        let sealed = try box.seal("repo-password-a", associatedData: SecretAssociation.hostConfig(hostA, "repo_password"))
        _ = try await database.updateHostConfig(
            hostID: hostA, change: HostConfigChange(repoURL: "/srv/a", repoPasswordSealed: .some(sealed)), by: .system)
        _ = try await database.updateHostConfig(
            hostID: hostB, change: HostConfigChange(repoURL: "/srv/b", repoPasswordSealed: .some(sealed)), by: .system)
        let signals = ReplicaSignals(database: database, replica: .random(), logger: .init(label: "test"))
        let hub = AgentHub(
            database: database, secretBox: box, metrics: ServerMetrics(), signals: signals, logger: .init(label: "test"))
        #expect(try await hub.configUpdate(hostID: hostA).repoPassword == "repo-password-a")
        await #expect(throws: CryptoError.self) { try await hub.configUpdate(hostID: hostB) }
    }

    @Test func auditDetailsNameFieldsNotValues() async throws {
        let database = try await AppDatabase.forTest()
        let host = try #require(try await IngestTests().enrolledHost(database, hostname: "a"))
        _ = try await database.updateHostConfig(
            hostID: host, change: HostConfigChange(repoURL: "/srv/a", repoPasswordSealed: .some([1, 2, 3])),
            by: AuditActor(actor: "user:admin", ip: "127.0.0.1"))
        let entry = try #require(try await database.auditLog(page: Page()).items.first)
        #expect(entry.action == "host.config.update")
        #expect(entry.details.contains("repo_password"))
        #expect(!entry.details.contains("AQID"))
    }
}
