import Foundation
import Logging
import ResticManagerProtocol
import ServiceLifecycle

/// Runs accepted jobs one at a time, in the order they were accepted (one
/// restic per repository; an agent has one repository). Every event of a
/// job goes through the outbox: `job.started`, each `log.stream` line,
/// `job.progress`, `job.finished`, then the repository reports.
///
/// The queue itself lives in the state store, so queued jobs survive a
/// restart and resume; this actor only owns the job that is running now.
public actor JobQueue: Service {
    /// Kinds after whose success the snapshot list and stats are refreshed.
    static let reportingKinds: Set<JobKind> = [.backup, .forget, .prune, .check, .`init`]
    public static let stoppedDuringJob = "agent stopped during job"

    let store: AgentStateStore
    let runner: any JobRunning
    let reporter: (any RepositoryReporting)?
    let restoreTargets: RestoreTargets
    let logger: Logger
    /// Wakes the queue when a job is accepted or a report is requested.
    public nonisolated let wake = ChangeSignal()
    /// Cross-host restore credentials, from `command.run` to the run.
    public nonisolated let sourceSecrets = RestoreSourceSecrets()

    private var current: (id: String, task: Task<JobOutcome, Never>)?
    private var cancelRequested: Set<String> = []
    private var reportRequested = false

    public init(
        store: AgentStateStore, runner: any JobRunning, reporter: (any RepositoryReporting)?,
        restoreTargets: RestoreTargets = .none, logger: Logger
    ) {
        self.store = store
        self.runner = runner
        self.reporter = reporter
        self.restoreTargets = restoreTargets
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    private func loop() async {
        let wakeups = wake.subscribe()
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let next: AcceptedJob?
            do {
                next = try await store.queuedJobs().first
            } catch {
                logger.error("cannot read queued jobs", metadata: ["error": "\(error)"])
                next = nil
            }
            if let next {
                await execute(next)
                continue
            }
            if reportRequested {
                reportRequested = false
                await report(reason: "daily")
                continue
            }
            guard await iterator.next() != nil else { return }
        }
    }

    /// Asks for a snapshots + stats report when the queue is idle.
    public func requestReport() {
        reportRequested = true
        wake.notify()
    }

    /// `command.cancel`: a queued job is dropped and finished `cancelled`;
    /// the running one is cancelled (SIGINT to restic, then SIGKILL).
    public func cancel(jobID: String) async {
        if cancelRunning(jobID) { return }
        do {
            // Decided in one transaction: the job is either still queued
            // and ends here, or the queue has started it meanwhile.
            if try await store.cancelQueuedJob(id: jobID, error: "cancelled before it started") {
                logger.info("cancelled queued job", metadata: ["job_id": "\(jobID)"])
            } else if !cancelRunning(jobID) {
                logger.notice("cancel for a job that is not queued or running here", metadata: ["job_id": "\(jobID)"])
            }
        } catch {
            logger.error("could not cancel job", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
        }
    }

    /// Cancels `jobID` if it is the running job.
    private func cancelRunning(_ jobID: String) -> Bool {
        guard let current, current.id == jobID else { return false }
        logger.info("cancelling running job", metadata: ["job_id": "\(jobID)"])
        cancelRequested.insert(jobID)
        current.task.cancel()
        return true
    }

    private func execute(_ queued: AcceptedJob) async {
        var job = queued
        var logger = self.logger
        logger[metadataKey: "job_id"] = "\(job.id)"
        logger[metadataKey: "kind"] = "\(job.kind.rawValue)"
        let config: StoredConfig
        do {
            config = try await store.config()
            guard try await store.markRunning(job) else { return }
        } catch {
            logger.error("cannot start job", metadata: ["error": "\(error)"])
            try? await store.finishJob(id: job.id, status: .failed, exitCode: JobOutcome.noExitCode,
                                 error: "agent could not record the job start: \(error)")
            return
        }
        logger.info("job started", metadata: ["trigger": "\(job.trigger.rawValue)"])
        guard job.source != nil || config.hasRepository else {
            await finish(job, JobOutcome(status: .failed, exitCode: JobOutcome.noExitCode,
                                   error: "no repository configured for this host"), logger: logger)
            return
        }
        if job.source != nil {
            guard let source = await sourceSecrets.take(jobID: job.id) else {
                await finish(job, JobOutcome(status: .failed, exitCode: JobOutcome.noExitCode,
                                             error: RestoreSourceSecrets.lostMessage), logger: logger)
                return
            }
            job.source = source
        }
        if let restore = job.restore, case .failure(let refusal) = restoreTargets.check(restore.target) {
            // Checked again now: the target may have filled up (or been
            // swapped for a link) while the job waited in the queue.
            await finish(job, JobOutcome(status: .failed, exitCode: JobOutcome.noExitCode, error: refusal.reason),
                         logger: logger)
            return
        }
        let spec = JobSpecFactory.spec(for: job)
        let repository = JobSpecFactory.repository(for: job, config: config)
        let store = self.store
        let runner = self.runner
        let jobLogger = logger
        let jobID = job.id
        // stdout and stderr are read concurrently: their lines commit in groups.
        let logWriter = LogLineWriter(store: store)
        let task = Task {
            await runner.run(spec, repository: repository) { event in
                do {
                    switch event {
                    case .log(let stream, let text):
                        try await logWriter.append(PendingLogLine(jobID: jobID, stream: stream, text: text))
                    case .progress(var progress):
                        progress.jobID = jobID
                        try await store.enqueue([.jobProgress(progress)])
                    }
                } catch {
                    jobLogger.error("could not record a job event", metadata: ["error": "\(error)"])
                }
            }
        }
        current = (job.id, task)
        var outcome = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        current = nil
        let requested = cancelRequested.remove(job.id) != nil
        if Task.isCancelled && !requested {
            // The agent is shutting down, not the operator cancelling.
            outcome = JobOutcome(status: .failed, exitCode: outcome.exitCode, stats: outcome.stats,
                                 error: Self.stoppedDuringJob)
        }
        await finish(job, outcome, logger: logger)
        if job.kind == .check, outcome.status != .cancelled {
            try? await store.saveLastCheck(CheckRecord(at: Date(), status: outcome.status == .succeeded ? "ok" : "failed"))
        }
        let reportAfter = outcome.status == .succeeded || (job.kind == .check && outcome.status == .failed)
        if Self.reportingKinds.contains(job.kind), reportAfter, !Task.isCancelled {
            await report(reason: "after \(job.kind.rawValue)")
        }
    }

    private func finish(_ job: AcceptedJob, _ outcome: JobOutcome, logger: Logger) async {
        do {
            try await store.finishJob(id: job.id, status: outcome.status, exitCode: outcome.exitCode, error: outcome.error,
                                stats: outcome.stats)
        } catch {
            logger.error("could not record the job result", metadata: ["error": "\(error)"])
            return
        }
        var metadata: Logger.Metadata = ["status": "\(outcome.status.rawValue)", "exit_code": "\(outcome.exitCode)"]
        if let error = outcome.error { metadata["error"] = "\(error)" }
        logger.info("job finished", metadata: metadata)
    }

    /// Sends `snapshots.report` and `repo.stats`; runs in the queue so it
    /// never competes with a job for the repository lock.
    private func report(reason: String) async {
        guard let reporter else { return }
        let config: StoredConfig
        do {
            config = try await store.config()
        } catch {
            return
        }
        guard config.hasRepository else { return }
        let repository = JobSpecFactory.repository(from: config)
        do {
            let snapshots = try await reporter.snapshots(repository)
            let stats = try await reporter.stats(repository, lastCheck: try await store.lastCheck())
            try await store.enqueue([.snapshotsReport(SnapshotsReportPayload(snapshots: snapshots)), .repoStats(stats)])
            try await store.saveLastReportAt(Date())
            logger.info("repository reported", metadata: ["reason": "\(reason)", "snapshots": "\(snapshots.count)"])
        } catch {
            // Retried at the next job or the next daily report.
            try? await store.saveLastReportAt(Date())
            logger.warning("could not read repository snapshots/stats", metadata: [
                "reason": "\(reason)", "error": "\(error)",
            ])
        }
    }
}

extension JobQueue: CustomStringConvertible {
    public nonisolated var description: String { "JobQueue" }
}
