import ResticManagerProtocol

/// Which hook of a job.
enum HookPhase: String, Sendable {
    case pre = "pre-hook"
    case post = "post-hook"
}

/// How a hook ended.
enum HookResult: Sendable, Equatable {
    case succeeded
    case failed(exitCode: Int)
    case timedOut
    case cancelled
    case couldNotStart(String)

    /// What happened, for the job's error (nil on success).
    func message(for phase: HookPhase, timeout: Duration) -> String? {
        switch self {
        case .succeeded: nil
        case .failed(let exitCode): "\(phase.rawValue) failed with exit code \(exitCode)"
        case .timedOut: "\(phase.rawValue) timed out after \(HookRunner.describe(timeout))"
        case .cancelled: "cancelled during the \(phase.rawValue)"
        case .couldNotStart(let reason): "\(phase.rawValue) could not start: \(reason)"
        }
    }
}

/// Runs a job's pre- and post-hooks in the host's hook shell (SPEC §5).
///
/// Hooks see the agent's environment plus `RM_JOB_ID`, `RM_JOB_KIND`,
/// `RM_JOB_STATUS` and `RM_EXIT_CODE` (the last two empty for the
/// pre-hook), never the repository's secrets. Their output goes to the job
/// log, prefixed `[pre-hook] ` or `[post-hook] `. A hook that outlives its
/// timeout gets SIGTERM, then SIGKILL after the grace period, together
/// with everything it started.
struct HookRunner: Sendable {
    var shell: String
    var timeout: Duration
    var grace: Duration
    var scrubber: SecretScrubber

    /// Runs `command` for `job`. A pre-hook stops when the job is cancelled;
    /// a post-hook runs to the end (or its timeout) even then.
    func run(
        _ phase: HookPhase,
        command: String,
        job: JobSpec,
        status: JobStatus?,
        exitCode: Int?,
        emit: @Sendable (JobEvent) async -> Void
    ) async -> HookResult {
        let hookShell: HookShell
        do {
            hookShell = try HookShell(parsing: shell)
        } catch {
            return .couldNotStart(error.reason)
        }
        let child = ChildProcess(
            executable: hookShell.executable,
            arguments: hookShell.arguments(running: command),
            environment: [
                "RM_JOB_ID": job.jobID,
                "RM_JOB_KIND": job.kind.rawValue,
                "RM_JOB_STATUS": status?.rawValue ?? "",
                "RM_EXIT_CODE": exitCode.map(String.init) ?? "",
            ],
            timeout: timeout,
            stopGrace: grace,
            stopsOnTaskCancellation: phase == .pre
        )
        let prefix = "[\(phase.rawValue)] "
        let result: ChildProcess.Result
        do {
            result = try await child.run { line in
                let text = prefix + scrubber.scrub(line.text)
                await emit(ResticOutputInterpreter.logEvent(line.stream == .stdout ? .stdout : .stderr, text))
            }
        } catch {
            switch error {
            case .notFound(let program): return .couldNotStart("\(program) not found")
            case .failed(let reason): return .couldNotStart(reason)
            }
        }
        switch result.stopReason {
        case .cancelled: return .cancelled
        case .timedOut: return .timedOut
        case nil: break
        }
        return result.termination == .exited(0) ? .succeeded : .failed(exitCode: result.termination.exitCode)
    }

    /// `1h`, `90s`, `1.5s`: a timeout as an operator writes it.
    static func describe(_ duration: Duration) -> String {
        let seconds = duration / .seconds(1)
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds.rounded() == seconds { return "\(Int(seconds))s" }
        return "\(seconds)s"
    }
}
