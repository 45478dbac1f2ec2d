import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

@Suite struct AgentStateStoreTests {
    func jobStarted(_ store: AgentStateStore, id: String = UUID().uuidString) async throws -> AcceptedJob {
        let job = AcceptedJob(id: id, kind: .backup, trigger: .manual, args: ["/etc"])
        try await store.acceptJob(job)
        return job
    }

    @Test func outboxKeepsInsertionOrderAcrossMessageKinds() async throws {
        let store = try AgentStateStore.inMemory()
        let job = try await jobStarted(store)
        try await store.markRunning(job)
        try await store.appendLog(jobID: job.id, stream: .stdout, text: "one")
        try await store.enqueue([.jobProgress(JobProgressPayload(jobID: job.id, percentDone: 0.5))])
        try await store.appendLog(jobID: job.id, stream: .stderr, text: "two")
        try await store.finishJob(id: job.id, status: .succeeded, exitCode: 0, error: nil)
        let entries = try await store.outbox()
        #expect(entries.map(\.type) == [.jobStarted, .logStream, .jobProgress, .logStream, .jobFinished])
        #expect(entries.map(\.seq) == entries.map(\.seq).sorted())
        // Every frame decodes as the message it stands for.
        let decoded = try entries.map { try EnvelopeCodec.decode($0.frame) }
        #expect(decoded.map(\.id) == entries.map(\.id))
        guard case .logStream(let first) = decoded[1].message, case .logStream(let second) = decoded[3].message else {
            Issue.record("expected log lines")
            return
        }
        #expect((first.seq, first.payload, second.seq, second.stream) == (1, "one", 2, .stderr))
        #expect(try await store.outbox(after: entries[2].seq).map(\.id) == Array(entries[3...].map(\.id)))
    }

    @Test func ackRemovesOnlyNamedEntriesAndErrorDropsRefusedOne() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.enqueue([
            .commandResult(CommandResultPayload(jobID: "a", accepted: true)),
            .commandResult(CommandResultPayload(jobID: "b", accepted: true)),
            .commandResult(CommandResultPayload(jobID: "c", accepted: true)),
        ])
        let ids = try await store.outbox().map(\.id)
        #expect(try await store.acknowledge(ids: [ids[0], "unknown"]) == 1)
        #expect(try await store.outbox().map(\.id) == [ids[1], ids[2]])
        #expect(try await store.dropRefused(id: ids[2])?.type == .commandResult)
        #expect(try await store.dropRefused(id: ids[2]) == nil)
        #expect(try await store.outbox().map(\.id) == [ids[1]])
    }

    @Test func crashRecoveryFailsRunningJobsAndKeepsQueuedOnes() async throws {
        let store = try AgentStateStore.inMemory()
        let running = try await jobStarted(store, id: "running")
        try await store.markRunning(running)
        _ = try await jobStarted(store, id: "queued")
        _ = try await store.acknowledge(ids: try await store.outbox().map(\.id))

        #expect(try await store.failInterruptedJobs() == ["running"])
        let failed = try #require(try await store.job(id: "running"))
        #expect(failed.status == .failed)
        #expect(failed.error == "agent restarted during job")
        #expect(try await store.queuedJobs().map(\.id) == ["queued"])
        let outbox = try await store.outbox()
        #expect(outbox.count == 1)
        guard case .jobFinished(let finished) = try EnvelopeCodec.decode(outbox[0].frame).message else {
            Issue.record("expected job.finished")
            return
        }
        #expect(finished.jobID == "running" && finished.status == .failed && finished.error == "agent restarted during job")
        // Ran once: a second start finds nothing to recover.
        #expect(try await store.failInterruptedJobs().isEmpty)
        #expect(Set(try await store.activeJobIDs()) == ["queued", "running"])
    }

    @Test func configMergeKeepsFieldsLeftEmpty() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.applyConfigUpdate(ConfigUpdatePayload(repoURL: "/srv/repo", repoPassword: "secret", hookShell: "/bin/sh -c"))
        let merged = try await store.applyConfigUpdate(ConfigUpdatePayload(repoURL: "s3:http://h/b", repoPassword: "", repoUsername: "u"))
        #expect(merged.repoURL == "s3:http://h/b")
        #expect(merged.repoPassword == "secret")
        #expect(merged.repoUsername == "u")
        #expect(merged.hookShell == "/bin/sh -c")
        var stored = try await store.config()
        #expect(stored.updatedAt != nil)
        stored.updatedAt = merged.updatedAt  // SQLite keeps milliseconds only
        #expect(stored == merged)
        #expect(!merged.description.contains("secret"))
    }

    @Test func scheduleSetIsReplacedWholeWithItsAck() async throws {
        let store = try AgentStateStore.inMemory()
        let first = ScheduleSetPayload(version: 1, schedules: [
            Schedule(id: "s1", kind: .backup, cronExpr: "0 3 * * *", paths: ["/a"]),
            Schedule(id: "s2", kind: .check, cronExpr: "@daily"),
        ])
        try await store.replaceSchedules(first)
        #expect(try await store.scheduleSet().schedules == first.schedules)
        let second = ScheduleSetPayload(version: 2, schedules: [Schedule(id: "s3", kind: .prune, cronExpr: "@weekly")])
        try await store.replaceSchedules(second)
        let stored = try await store.scheduleSet()
        #expect(stored.version == 2)
        #expect(stored.schedules.map(\.id) == ["s3"])
        let acks = try await store.outbox().map { try EnvelopeCodec.decode($0.frame).message }
        #expect(acks.compactMap { if case .scheduleAck(let ack) = $0 { ack.version } else { nil } } == [Int64(1), 2])
    }

    @Test func failedScheduleReplaceLeavesOldSetAndNoAck() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.replaceSchedules(ScheduleSetPayload(version: 1, schedules: [Schedule(id: "s1", kind: .backup, cronExpr: "@daily")]))
        let before = try await store.outboxCount()
        // Duplicate ids violate the primary key half-way through the transaction.
        let broken = ScheduleSetPayload(version: 2, schedules: [
            Schedule(id: "n1", kind: .backup, cronExpr: "@daily"), Schedule(id: "n1", kind: .check, cronExpr: "@daily"),
        ])
        await #expect(throws: (any Error).self) { try await store.replaceSchedules(broken) }
        let stored = try await store.scheduleSet()
        #expect(stored.version == 1 && stored.schedules.map(\.id) == ["s1"])
        #expect(try await store.outboxCount() == before)
    }

    @Test func enrollingAsAnotherHostClearsTheOldHostsState() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.saveCredential(AgentCredential(serverURL: "http://127.0.0.1:1", agentToken: "rma_a", hostID: "h1"))
        try await store.applyConfigUpdate(ConfigUpdatePayload(repoURL: "/srv/repo", repoPassword: "pw"))
        try await store.replaceSchedules(ScheduleSetPayload(version: 3, schedules: [Schedule(id: "s", kind: .check, cronExpr: "@daily")]))
        _ = try await jobStarted(store)
        // Same host again (a new token): state kept.
        try await store.saveCredential(AgentCredential(serverURL: "http://127.0.0.1:1", agentToken: "rma_b", hostID: "h1"))
        #expect(try await store.config().hasRepository)
        #expect(try await store.scheduleSet().version == 3)
        try await store.saveCredential(AgentCredential(serverURL: "http://127.0.0.1:1", agentToken: "rma_c", hostID: "h2"))
        #expect(try await !store.config().hasRepository)
        #expect(try await store.scheduleSet() == StoredScheduleSet())
        #expect(try await store.queuedJobs().isEmpty)
        #expect(try await store.outboxCount() == 0)
        #expect(try await store.credential()?.agentToken == "rma_c")
    }

    @Test func stateFilesArePrivate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-state-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await AgentStateStore.open(stateDirectory: directory)
        try await store.saveCredential(AgentCredential(serverURL: "http://127.0.0.1:8080", agentToken: "rma_x", hostID: "h"))
        let dirMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(
            atPath: AgentStateStore.databasePath(stateDirectory: directory))[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        #expect(fileMode == 0o600)
        #expect(try await AgentStateStore.open(stateDirectory: directory).credential()?.agentToken == "rma_x")
    }
}

@Suite struct CommandValidationTests {
    let config = StoredConfig(repoURL: "/srv/repo", repoPassword: "pw")
    let schedules = StoredScheduleSet(version: 1, schedules: [
        Schedule(id: "s1", kind: .backup, cronExpr: "@daily", paths: ["/data"]),
        Schedule(id: "f1", kind: .forget, cronExpr: "@daily", retentionPolicy: try! RawJSON(text: #"{"keep_last":2}"#)),
    ])

    func refusal(_ run: CommandRunPayload, config: StoredConfig? = nil) -> String? {
        switch CommandValidation.job(for: run, config: config ?? self.config, schedules: schedules) {
        case .success: nil
        case .failure(let refusal): refusal.reason
        }
    }

    @Test func refusesWhatCannotRun() {
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .backup, args: ["/x"]), config: StoredConfig())?
            .contains("no repository") == true)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .backup, scheduleID: "nope"))?.contains("unknown schedule") == true)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .backup, args: ["--password-file=/x"]))?.contains("not a path") == true)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .check, args: ["/x"]))?.contains("only allowed for backup") == true)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .forget))?.contains("schedule_id") == true)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .backup)) != nil)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .restore)) != nil)
    }

    @Test func acceptsRunNowOfScheduleWithItsDefinition() async throws {
        let job = try CommandValidation.job(
            for: CommandRunPayload(jobID: "j", kind: .backup, scheduleID: "s1"), config: config, schedules: schedules
        ).get()
        #expect(job.schedule?.paths == ["/data"])
        #expect(JobSpecFactory.spec(for: job).paths == ["/data"])
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .forget, scheduleID: "f1")) == nil)
        #expect(refusal(CommandRunPayload(jobID: "j", kind: .unlock)) == nil)
    }
}

@Suite struct LogLineWriterTests {
    func logSeqs(_ store: AgentStateStore) async throws -> [(seq: Int64, payload: String)] {
        try await store.outbox().compactMap { entry -> (Int64, String)? in
            guard case .logStream(let line) = try EnvelopeCodec.decode(entry.frame).message else { return nil }
            return (line.seq, line.payload)
        }
    }

    @Test func linesAppendedTogetherAreNumberedWithoutGapsOrRepeats() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.acceptJob(AcceptedJob(id: "j1", kind: .backup, trigger: .manual, args: ["/etc"]))
        let writer = LogLineWriter(store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 1...200 {
                group.addTask { try await writer.append(PendingLogLine(jobID: "j1", stream: .stdout, text: "line \(number)")) }
            }
            try await group.waitForAll()
        }
        let lines = try await logSeqs(store)
        #expect(lines.map(\.seq) == Array(1...200))
        #expect(Set(lines.map(\.payload)).count == 200)
        // The next line continues the job's numbering.
        #expect(try await store.appendLog(jobID: "j1", stream: .stderr, text: "after") == 201)
    }

    @Test func oneCallersLinesKeepTheirOrder() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.acceptJob(AcceptedJob(id: "j1", kind: .backup, trigger: .manual, args: ["/etc"]))
        let writer = LogLineWriter(store: store)
        for number in 1...20 { try await writer.append(PendingLogLine(jobID: "j1", stream: .stdout, text: "\(number)")) }
        #expect(try await logSeqs(store).map(\.payload) == (1...20).map(String.init))
    }

    @Test func aBatchNumbersEachJobsLinesInOneTransaction() async throws {
        let store = try AgentStateStore.inMemory()
        try await store.acceptJob(AcceptedJob(id: "a", kind: .backup, trigger: .manual, args: ["/etc"]))
        try await store.acceptJob(AcceptedJob(id: "b", kind: .backup, trigger: .manual, args: ["/etc"]))
        _ = try await store.appendLog(jobID: "a", stream: .stdout, text: "a1")
        let seqs = try await store.appendLogs([
            PendingLogLine(jobID: "a", stream: .stdout, text: "a2"), PendingLogLine(jobID: "b", stream: .stdout, text: "b1"),
            PendingLogLine(jobID: "a", stream: .stderr, text: "a3"),
        ])
        #expect(seqs == [2, 1, 3])
    }
}
