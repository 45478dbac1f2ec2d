import Foundation
import Logging
import ResticManagerProtocol
import Synchronization
import Testing

@testable import ResticManagerAgent

/// Emits two log lines and one progress, then waits until released or cancelled.
final class FakeRunner: JobRunning {
    let started = Mutex<[String]>([])
    let gate: AsyncStream<Void>
    let release: AsyncStream<Void>.Continuation

    init() {
        (gate, release) = AsyncStream.makeStream(of: Void.self)
    }

    func run(_ spec: JobSpec, repository: RepositoryConfig, emit: @Sendable (JobEvent) async -> Void) async -> JobOutcome {
        started.withLock { $0.append(spec.jobID) }
        await emit(.log(.stdout, "first \(spec.paths.joined(separator: ","))"))
        await emit(.progress(JobProgressPayload(jobID: "", percentDone: 0.5)))
        await emit(.log(.stderr, "second"))
        for await _ in gate { break }
        if Task.isCancelled { return JobOutcome(status: .cancelled, exitCode: 130, error: "cancelled") }
        return JobOutcome(status: .succeeded, exitCode: 0)
    }
}

@Suite struct JobQueueTests {
    let logger = Logger(label: "test")

    func configuredStore() async throws -> AgentStateStore {
        let store = try AgentStateStore.inMemory()
        try await store.applyConfigUpdate(ConfigUpdatePayload(repoURL: "/srv/repo", repoPassword: "pw"))
        return store
    }

    /// Waits on `condition`, checked again whenever `store`'s outbox changes
    /// (every job transition and log line goes through it); a store error
    /// counts as "not yet".
    func waitUntil(_ what: Comment, store: AgentStateStore, _ condition: () async throws -> Bool) async throws {
        try await ResticTestSupport.waitUntil(what, timeout: .seconds(10), changes: store.outboxSignal.subscribe()) {
            (try? await condition()) ?? false
        }
    }

    @Test func jobEventsGoThroughTheOutboxInOrderAndQueuedJobsCanBeCancelled() async throws {
        let store = try await configuredStore()
        let runner = FakeRunner()
        let queue = JobQueue(store: store, runner: runner, reporter: nil, logger: logger)
        try await store.acceptJob(AcceptedJob(id: "j1", kind: .backup, trigger: .manual, args: ["/data"]))
        try await store.acceptJob(AcceptedJob(id: "j2", kind: .backup, trigger: .manual, args: ["/other"]))
        let service = Task { try await queue.run() }
        defer { service.cancel() }
        try await waitUntil("j1 running with its first events", store: store) {
            let running = try await store.job(id: "j1")?.status == .running
            let count = try await store.outboxCount()
            return running && count >= 4
        }
        await queue.cancel(jobID: "j2")
        #expect(try await store.job(id: "j2")?.status == .cancelled)
        runner.release.yield()
        try await waitUntil("j1 succeeded", store: store) { try await store.job(id: "j1")?.status == .succeeded }
        #expect(runner.started.withLock { $0 } == ["j1"])

        let messages = try await store.outbox().map { try EnvelopeCodec.decode($0.frame).message }
        let j1 = messages.filter {
            switch $0 {
            case .jobStarted(let p): p.jobID == "j1"
            case .logStream(let p): p.jobID == "j1"
            case .jobProgress(let p): p.jobID == "j1"
            case .jobFinished(let p): p.jobID == "j1"
            default: false
            }
        }
        #expect(j1.map(\.type) == [.jobStarted, .logStream, .jobProgress, .logStream, .jobFinished])
        let seqs = j1.compactMap { if case .logStream(let line) = $0 { line.seq } else { nil } }
        #expect(seqs == [1, 2])
    }

    @Test func runningJobIsCancelledThroughItsTask() async throws {
        let store = try await configuredStore()
        let runner = FakeRunner()
        let queue = JobQueue(store: store, runner: runner, reporter: nil, logger: logger)
        try await store.acceptJob(AcceptedJob(id: "j1", kind: .backup, trigger: .manual, args: ["/data"]))
        let service = Task { try await queue.run() }
        defer { service.cancel() }
        try await waitUntil("j1 running", store: store) { try await store.job(id: "j1")?.status == .running }
        try await waitUntil("the runner started", store: store) { runner.started.withLock { !$0.isEmpty } }
        await queue.cancel(jobID: "j1")
        runner.release.yield()
        try await waitUntil("j1 cancelled", store: store) { try await store.job(id: "j1")?.status == .cancelled }
    }

    @Test func jobWithoutRepositoryFailsClearly() async throws {
        let store = try AgentStateStore.inMemory()
        let queue = JobQueue(store: store, runner: FakeRunner(), reporter: nil, logger: logger)
        try await store.acceptJob(AcceptedJob(id: "j1", kind: .check, trigger: .schedule, scheduleID: "s1"))
        let service = Task { try await queue.run() }
        defer { service.cancel() }
        try await waitUntil("j1 failed", store: store) { try await store.job(id: "j1")?.status == .failed }
        #expect(try await store.job(id: "j1")?.error == "no repository configured for this host")
    }

    @Test func scheduleStillQueuedOrRunningIsSkippedNotStacked() async throws {
        let store = try await configuredStore()
        let queue = JobQueue(store: store, runner: FakeRunner(), reporter: nil, logger: logger)
        let runner = ScheduleRunner(store: store, queue: queue, schedulesChanged: ChangeSignal(), logger: logger)
        let schedule = Schedule(id: "s1", kind: .backup, cronExpr: "* * * * *", paths: ["/data"])
        await runner.fire(schedule, due: Date())
        await runner.fire(schedule, due: Date())
        let jobs = try await store.recentJobs(limit: 10)
        #expect(jobs.count == 1)
        #expect(jobs.first?.trigger == .schedule && jobs.first?.scheduleID == "s1")
        #expect(jobs.first?.schedule?.paths == ["/data"])
    }
}
