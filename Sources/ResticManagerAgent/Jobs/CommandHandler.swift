import Foundation
import Logging
import ResticManagerProtocol

/// Why a `command.run` is refused (`command.result` with `accepted: false`).
public struct CommandRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// Decides whether a `command.run` can be accepted, and what job it becomes.
public enum CommandValidation {
    public static func job(
        for run: CommandRunPayload, config: StoredConfig, schedules: StoredScheduleSet,
        restoreTargets: RestoreTargets = .none, now: Date = Date()
    ) -> Result<AcceptedJob, CommandRefusal> {
        var restore: RestoreRequest?
        if run.kind == .restore {
            switch restoreRequest(of: run, restoreTargets: restoreTargets) {
            case .success(let checked): restore = checked
            case .failure(let refusal): return .failure(refusal)
            }
        } else if run.restore != nil || run.source != nil {
            return .failure(CommandRefusal("restore and source are only allowed on a restore job"))
        }
        guard run.source != nil || config.hasRepository else {
            return .failure(CommandRefusal("no repository configured for this host"))
        }
        var schedule: Schedule?
        if let id = run.scheduleID, !id.isEmpty {
            guard let found = schedules.schedule(id: id) else {
                return .failure(CommandRefusal("unknown schedule \(id)"))
            }
            guard found.kind == run.kind else {
                return .failure(CommandRefusal("schedule \(id) is a \(found.kind.rawValue) schedule, not \(run.kind.rawValue)"))
            }
            schedule = found
        }
        if let problem = RunArguments.problem(kind: run.kind, args: run.args, hasSchedule: schedule != nil) {
            return .failure(CommandRefusal("bad \(problem)"))
        }
        let job = AcceptedJob(
            id: run.jobID, kind: run.kind, trigger: .manual, scheduleID: schedule?.id ?? run.scheduleID,
            args: run.args, schedule: schedule, restore: restore, source: run.source, status: .queued, queuedAt: now)
        do {
            _ = try ResticCommandBuilder.arguments(for: JobSpecFactory.spec(for: job))
        } catch {
            return .failure(CommandRefusal(error.reason))
        }
        return .success(job)
    }

    /// A restore's request with its target resolved, when this host allows
    /// a restore there (SPEC §10.3); the host's consent comes first.
    static func restoreRequest(
        of run: CommandRunPayload, restoreTargets: RestoreTargets
    ) -> Result<RestoreRequest, CommandRefusal> {
        guard !restoreTargets.folders.isEmpty else { return .failure(CommandRefusal(RestoreArguments.notAllowedMessage)) }
        guard var restore = run.restore else {
            return .failure(CommandRefusal("a restore needs a snapshot_id and a target"))
        }
        if let problem = RestoreArguments.problem(restore) { return .failure(CommandRefusal("bad \(problem)")) }
        if let source = run.source, source.repoURL.isEmpty || source.repoPassword.isEmpty {
            return .failure(CommandRefusal("the source repository needs a repo_url and a repo_password"))
        }
        switch restoreTargets.check(restore.target) {
        case .success(let resolved):
            restore.target = resolved
            return .success(restore)
        case .failure(let refusal):
            return .failure(refusal)
        }
    }
}

/// Applies what the server sends: config, schedules, commands.
public struct CommandHandler: ServerMessageHandling {
    let store: AgentStateStore
    let queue: JobQueue
    /// Wakes the scheduler when the schedule set changes.
    let schedulesChanged: ChangeSignal
    let restoreTargets: RestoreTargets
    let browser: SnapshotBrowser?
    let logger: Logger

    public init(
        store: AgentStateStore, queue: JobQueue, schedulesChanged: ChangeSignal, restoreTargets: RestoreTargets = .none,
        browser: SnapshotBrowser? = nil, logger: Logger
    ) {
        self.store = store
        self.queue = queue
        self.schedulesChanged = schedulesChanged
        self.restoreTargets = restoreTargets
        self.browser = browser
        self.logger = logger
    }

    public func handle(_ envelope: Envelope) async {
        do {
            switch envelope.message {
            case .configUpdate(let update):
                let merged = try await store.applyConfigUpdate(update)
                logger.info("repository config updated", metadata: ["config": "\(merged)"])
            case .scheduleSet(let set):
                try await store.replaceSchedules(set)
                schedulesChanged.notify()
                logger.info("schedule set applied", metadata: [
                    "version": "\(set.version)", "schedules": "\(set.schedules.count)",
                ])
            case .commandRun(let run):
                try await accept(run)
            case .commandCancel(let cancel):
                await queue.cancel(jobID: cancel.jobID)
            case .agentUpdateAvailable(let update):
                // Told, never acted on: packages update the agent (SPEC §13).
                logger.notice("a newer agent is available; upgrade with the server's install line or its package", metadata: [
                    "running": "\(agentVersion)", "version": "\(update.latestVersion)", "url": "\(update.packageURL)",
                ])
                try await store.saveUpdateNotice(UpdateNotice(
                    latestVersion: update.latestVersion, packageURL: update.packageURL, receivedAt: Date()))
            default:
                logger.debug("ignored message", metadata: ["type": "\(envelope.message.type.rawValue)"])
            }
        } catch {
            logger.error("could not apply server message", metadata: [
                "type": "\(envelope.message.type.rawValue)", "error": "\(error)",
            ])
        }
    }

    private func accept(_ run: CommandRunPayload) async throws {
        if let existing = try await store.job(id: run.jobID) {
            // A re-dispatch after a reconnect: answer again, run once.
            logger.info("job already accepted", metadata: ["job_id": "\(run.jobID)", "status": "\(existing.status)"])
            try await store.enqueue([.commandResult(CommandResultPayload(jobID: run.jobID, accepted: true))])
            return
        }
        let validation = CommandValidation.job(
            for: run, config: try await store.config(), schedules: try await store.scheduleSet(),
            restoreTargets: restoreTargets)
        switch validation {
        case .success(let job):
            if let source = job.source { await queue.sourceSecrets.keep(source, jobID: job.id) }
            try await store.acceptJob(job, reply: .commandResult(CommandResultPayload(jobID: job.id, accepted: true)))
            logger.info("job accepted", metadata: ["job_id": "\(job.id)", "kind": "\(job.kind.rawValue)"])
            queue.wake.notify()
        case .failure(let refusal):
            logger.warning("job refused", metadata: ["job_id": "\(run.jobID)", "reason": "\(refusal.reason)"])
            try await store.enqueue([
                .commandResult(CommandResultPayload(jobID: run.jobID, accepted: false, error: refusal.reason))
            ])
        }
    }

    public func answer(_ request: SnapshotLsRequest) async -> SnapshotLsResult {
        let path = RestoreArguments.normalizedFolder(request.path)
        guard let browser else {
            return .failure(requestID: request.requestID, path: path, .failed, "restic is not installed on this host")
        }
        let repository: RepositoryConfig
        if let source = request.source {
            repository = RepositoryConfig(source: source)
        } else {
            guard let config = try? await store.config(), config.hasRepository else {
                return .failure(requestID: request.requestID, path: path, .failed,
                                "no repository configured for this host")
            }
            repository = JobSpecFactory.repository(from: config)
        }
        let result = await browser.list(request, repository: repository)
        logger.info("snapshot folder listed", metadata: [
            "snapshot_id": "\(request.snapshotID)", "path": "\(path)", "nodes": "\(result.nodes.count)",
            "error": "\(result.error ?? "")",
        ])
        return result
    }

    /// A `command.run` whose kind this agent does not know is refused with
    /// `command.result`, so the server can fail the job with the reason.
    public func handleUndecodable(_ text: String, error: EnvelopeDecodingError) async -> Bool {
        guard case .badPayload(let type, _, _) = error, type == .commandRun,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let payload = object["payload"] as? [String: Any], let jobID = payload["job_id"] as? String,
            !jobID.isEmpty
        else { return false }
        let kind = (payload["kind"] as? String).map { "\"\($0.prefix(32))\"" } ?? "(missing)"
        let reason = "unknown job kind \(kind)"
        logger.warning("job refused", metadata: ["job_id": "\(jobID.prefix(64))", "reason": "\(reason)"])
        do {
            try await store.enqueue([.commandResult(CommandResultPayload(jobID: jobID, accepted: false, error: reason))])
            return true
        } catch {
            return false
        }
    }
}
