import Logging
import ResticManagerProtocol

/// Runs one job on this host: pre-hook, restic, post-hook (SPEC §5).
///
/// Secrets reach restic only through its environment and are scrubbed from
/// every event and error. Cancelling the calling task cancels the job:
/// restic's process group gets SIGINT (restic removes its lock and exits),
/// and SIGKILL if it is still there after `cancelGrace`; the outcome is
/// `cancelled`. `emit` is still called after a cancel (restic's last
/// lines, the post-hook's output), so it should not give up on a cancelled
/// task.
public struct JobExecutor: Sendable {
    public let restic: ResticInstallation
    public let hookTimeout: Duration
    public let cancelGrace: Duration
    public let progressInterval: Duration
    /// False with `run --no-hooks`: a job with a hook fails before anything runs.
    public let hooksAllowed: Bool
    private let logger: Logger

    /// What a job with a hook fails with on a host that runs none (SPEC §10.3).
    public static let hooksNotAllowed = "hooks are not allowed on this host (agent started with --no-hooks)"

    public init(
        restic: ResticInstallation,
        hookTimeout: Duration = .seconds(3600),
        cancelGrace: Duration = .seconds(30),
        progressInterval: Duration = .milliseconds(500),
        hooksAllowed: Bool = true,
        logger: Logger
    ) {
        self.restic = restic
        self.hooksAllowed = hooksAllowed
        self.hookTimeout = hookTimeout
        self.cancelGrace = cancelGrace
        self.progressInterval = progressInterval
        self.logger = logger
    }

    /// Runs pre-hook, restic, post-hook. `emit` receives log lines and
    /// throttled progress in order. Never throws: every failure is an
    /// outcome with a clear `error`.
    ///
    /// - A job definition that cannot be run safely (see
    ///   ``ResticCommandBuilder``) fails before anything runs, hooks included.
    /// - A failing, timed-out or cancelled pre-hook skips restic.
    /// - The post-hook runs whenever the pre-hook stage was reached, also
    ///   after a failure or cancel; if it fails, a job that had succeeded
    ///   is failed (the host may be left in a bad state).
    public func run(
        _ spec: JobSpec,
        repository: RepositoryConfig,
        emit: @Sendable (JobEvent) async -> Void
    ) async -> JobOutcome {
        var logger = self.logger
        logger[metadataKey: "job_id"] = "\(spec.jobID)"
        logger[metadataKey: "job_kind"] = "\(spec.kind.rawValue)"
        let scrubber = SecretScrubber(secrets: ResticCommandBuilder.secrets(of: repository))
        let version = restic.parsedVersion

        let arguments: [String]
        do {
            arguments = try ResticCommandBuilder.arguments(for: spec, resticVersion: version)
        } catch {
            let reason = scrubber.scrub(error.reason)
            logger.warning("job refused", metadata: ["reason": "\(reason)"])
            return JobOutcome(status: .failed, exitCode: JobOutcome.noExitCode, error: reason)
        }
        if !hooksAllowed, !spec.preHook.isEmpty || !spec.postHook.isEmpty {
            logger.warning("job refused", metadata: ["reason": "\(Self.hooksNotAllowed)"])
            return JobOutcome(status: .failed, exitCode: JobOutcome.noExitCode, error: Self.hooksNotAllowed)
        }
        if Task.isCancelled {
            return JobOutcome(status: .cancelled, exitCode: JobOutcome.noExitCode, error: "cancelled before it started")
        }

        let hooks = HookRunner(
            shell: repository.hookShell,
            timeout: hookTimeout,
            grace: cancelGrace,
            scrubber: scrubber
        )
        var finalOutcome: JobOutcome
        if let stopped = await preHookOutcome(spec, hooks: hooks, logger: logger, emit: emit) {
            finalOutcome = stopped
        } else {
            for note in ResticCommandBuilder.ignoredOptions(for: spec, resticVersion: version) {
                await emit(.log(.stderr, "[agent] \(note)"))
            }
            finalOutcome = await runRestic(
                spec,
                arguments: arguments,
                repository: repository,
                scrubber: scrubber,
                logger: logger,
                emit: emit
            )
        }
        await applyPostHook(spec, hooks: hooks, to: &finalOutcome, logger: logger, emit: emit)
        logger.info(
            "job finished",
            metadata: [
                "status": "\(finalOutcome.status.rawValue)",
                "exit_code": "\(finalOutcome.exitCode)",
                "error": "\(finalOutcome.error ?? "")",
            ]
        )
        return finalOutcome
    }

    /// Runs the pre-hook; returns the job's outcome when restic must not
    /// run (the hook failed, timed out or was cancelled, or the job was
    /// cancelled meanwhile), nil to go on.
    private func preHookOutcome(
        _ spec: JobSpec, hooks: HookRunner, logger: Logger, emit: @Sendable (JobEvent) async -> Void
    ) async -> JobOutcome? {
        if !spec.preHook.isEmpty {
            let result = await hooks.run(.pre, command: spec.preHook, job: spec, status: nil, exitCode: nil, emit: emit)
            if let message = result.message(for: .pre, timeout: hookTimeout) {
                logger.warning("pre-hook did not succeed", metadata: ["reason": "\(message)"])
                return JobOutcome(
                    status: result == .cancelled ? .cancelled : .failed,
                    exitCode: JobOutcome.noExitCode,
                    error: result == .cancelled ? message : "\(message); restic was not run"
                )
            }
        }
        if Task.isCancelled {
            return JobOutcome(status: .cancelled, exitCode: JobOutcome.noExitCode, error: "cancelled before restic started")
        }
        return nil
    }

    /// Runs the post-hook, if any; a failing one fails a job that had succeeded.
    private func applyPostHook(
        _ spec: JobSpec, hooks: HookRunner, to outcome: inout JobOutcome, logger: Logger,
        emit: @Sendable (JobEvent) async -> Void
    ) async {
        guard !spec.postHook.isEmpty else { return }
        let result = await hooks.run(
            .post, command: spec.postHook, job: spec, status: outcome.status, exitCode: outcome.exitCode, emit: emit)
        guard let message = result.message(for: .post, timeout: hookTimeout) else { return }
        logger.warning("post-hook did not succeed", metadata: ["reason": "\(message)"])
        if outcome.status == .succeeded { outcome.status = .failed }
        outcome.error = [outcome.error, message].compactMap { $0 }.joined(separator: "; ")
    }

    private func runRestic(
        _ spec: JobSpec,
        arguments: [String],
        repository: RepositoryConfig,
        scrubber: SecretScrubber,
        logger: Logger,
        emit: @Sendable (JobEvent) async -> Void
    ) async -> JobOutcome {
        var environment: [String: String?] = ResticCommandBuilder.environment(for: repository)
        for name in ResticCommandBuilder.conflictingVariables { environment[name] = String?.none }
        // Ask restic for about twice the status lines we forward, so what we
        // forward is fresh; its default is up to 60 a second.
        let intervalSeconds = progressInterval / .seconds(1)
        if intervalSeconds > 0 {
            environment["RESTIC_PROGRESS_FPS"] = String(min(60, max(0.1, 2 / intervalSeconds)))
        }
        let child = ChildProcess(
            executable: .path(restic.path),
            arguments: arguments,
            environment: environment,
            timeout: nil,
            stopGrace: cancelGrace,
            stopsOnTaskCancellation: true
        )

        let commandLine = scrubber.scrub((["restic"] + arguments).joined(separator: " "))
        logger.info("running restic", metadata: ["command": "\(commandLine)"])
        await emit(.log(.stdout, "[agent] \(commandLine)"))

        let clock = ContinuousClock()
        var interpreter = ResticOutputInterpreter(
            jobID: spec.jobID,
            scrubber: scrubber,
            progressInterval: progressInterval,
            startedAt: clock.now
        )
        let result: ChildProcess.Result
        do {
            result = try await child.run { line in
                for event in interpreter.consume(line, at: clock.now) {
                    await emit(event)
                }
            }
        } catch {
            let message =
                switch error {
                case .notFound(let path): "restic not found at \(path)"
                case .failed(let reason): reason
                }
            return JobOutcome(status: .failed, exitCode: JobOutcome.noExitCode, error: scrubber.scrub(message))
        }
        for event in interpreter.finish(at: clock.now) {
            await emit(event)
        }
        var outcome = ResticOutcomeMapper.outcome(
            kind: spec.kind,
            termination: result.termination,
            stopReason: result.stopReason,
            summary: interpreter.summary,
            readErrorCount: interpreter.readErrorCount,
            stderrTail: interpreter.stderrTail,
            repositoryURL: repository.url
        )
        if spec.kind == .restore, let target = spec.restore?.target, outcome.status == .succeeded {
            let restored = RestoredFiles.scan(target: target)
            for line in restored.logLines(target: target) { await emit(.log(.stdout, scrubber.scrub(line))) }
            if outcome.stats == nil { outcome.stats = restored.stats }
        }
        return outcome
    }
}
