import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// One test per agent message the ingest applies (SPEC §6.1), beside the
/// batch-level tests in `IngestTests`.
@Suite struct IngestEventTests {
    let ingest = IngestTests()

    func apply(_ database: AppDatabase, _ host: HostID, _ messages: Message...) async throws -> [IngestOutcome] {
        try await database.ingest(hostID: host, envelopes: messages.map { Envelope(message: $0) }).outcomes.map(\.outcome)
    }

    @Test func scheduleAckMovesForwardOnlyAndNeverPastTheDesiredVersion() async throws {
        let (database, host, _) = try await ingest.fixture()
        _ = try await apply(database, host, .scheduleAck(ScheduleAckPayload(version: 1)))
        #expect(try await database.scheduleVersion(hostID: host)?.ackedVersion == 1)
        _ = try await apply(database, host, .scheduleAck(ScheduleAckPayload(version: 5)))
        #expect(try await database.scheduleVersion(hostID: host)?.ackedVersion == 1, "5 was never asked for")
        _ = try await apply(database, host, .scheduleAck(ScheduleAckPayload(version: 0)))
        #expect(try await database.scheduleVersion(hostID: host)?.ackedVersion == 1, "acks never go back")
    }

    @Test func aRefusedCommandFailsTheQueuedJobWithTheAgentsReason() async throws {
        let (database, host, job) = try await ingest.fixture()
        _ = try await apply(database, host, .commandResult(CommandResultPayload(jobID: job.rawValue, accepted: false,
                                                                                error: "no repository configured")))
        let stored = try await database.job(id: job)
        #expect(stored?.status == .failed)
        #expect(stored?.error == "the agent refused the job: no repository configured")
    }

    @Test func anAcceptedCommandIsNotedAndTheJobStaysQueued() async throws {
        let (database, host, job) = try await ingest.fixture()
        _ = try await apply(database, host, .commandResult(CommandResultPayload(jobID: job.rawValue, accepted: true)))
        let stored = try await database.job(id: job)
        #expect(stored?.status == .queued)
        #expect(stored?.acceptedAt != nil)
    }

    @Test func progressIsKeptWhileTheJobRunsAndIgnoredAfterwards() async throws {
        let (database, host, job) = try await ingest.fixture()
        _ = try await apply(database, host,
                            .jobStarted(JobStartedPayload(jobID: job.rawValue, kind: .backup, startedAt: Date())),
                            .jobProgress(JobProgressPayload(jobID: job.rawValue, percentDone: 0.25)))
        #expect(try await database.job(id: job)?.progress?.contains("0.25") == true)
        _ = try await apply(database, host,
                            .jobFinished(JobFinishedPayload(jobID: job.rawValue, status: .succeeded, exitCode: 0,
                                                            finishedAt: Date())),
                            .jobProgress(JobProgressPayload(jobID: job.rawValue, percentDone: 0.5)))
        #expect(try await database.job(id: job)?.progress?.contains("0.5") == false)
    }

    @Test func aScheduledRunTheAgentMintedBecomesAJob() async throws {
        let (database, host, _) = try await ingest.fixture()
        let id = "5e0b5c1a-0000-4000-8000-000000000002"
        _ = try await apply(database, host, .jobStarted(JobStartedPayload(jobID: id, kind: .check, startedAt: Date(),
                                                                           trigger: .schedule)))
        let job = try #require(try await database.job(id: JobID(id)))
        #expect(job.status == .running && job.trigger == .schedule && job.kind == .check && job.hostId == host)
    }

    @Test func aScheduledRunOfAnotherHostsScheduleIsForbidden() async throws {
        let (database, host, _) = try await ingest.fixture()
        let other = try #require(try await ingest.enrolledHost(database, hostname: "other"))
        let schedule = try await database.createSchedule(
            hostID: other,
            definition: ScheduleDefinition(kind: .check, cronExpr: "@daily", paths: [], excludes: [], tags: [],
                                           retentionPolicy: nil, options: nil, preHook: "", postHook: "", enabled: true),
            by: .system)
        let outcomes = try await apply(database, host, .jobStarted(JobStartedPayload(
            jobID: "5e0b5c1a-0000-4000-8000-000000000003", kind: .check, startedAt: Date(),
            scheduleID: schedule.id.rawValue, trigger: .schedule)))
        guard case .refused(let code, _) = outcomes.first else { Issue.record("not refused: \(outcomes)"); return }
        #expect(code == .forbidden)
    }

    @Test func aSnapshotsReportReplacesTheHostsSet() async throws {
        let (database, host, _) = try await ingest.fixture()
        func report(_ ids: String...) -> Message {
            .snapshotsReport(SnapshotsReportPayload(snapshots: ids.enumerated().map { index, id in
                Snapshot(id: id, time: Date(timeIntervalSince1970: Double(1_000 + index)), hostname: "a", paths: ["/etc"])
            }))
        }
        _ = try await apply(database, host, report("s1", "s2"))
        _ = try await apply(database, host, report("s3"))
        #expect(try await database.snapshots(hostID: host, page: Page()).items.map(\.snapshotId) == ["s3"])
    }

    @Test func repoStatsKeepHistoryNewestFirst() async throws {
        let (database, host, _) = try await ingest.fixture()
        for size in [100, 200] as [Int64] {
            _ = try await apply(database, host, .repoStats(RepoStatsPayload(
                sizeBytes: size, snapshotCount: 1, dedupRatio: 1, lastCheckStatus: "", lockState: "unlocked")))
        }
        let history = try await database.repoStats(hostID: host, page: Page()).items
        #expect(history.map(\.sizeBytes) == [200, 100])
        #expect(history.allSatisfy { $0.lastCheckStatus == nil }, "an empty status is stored as none")
    }
}
