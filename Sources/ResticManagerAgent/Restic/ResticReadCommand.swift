import Logging
import ResticManagerProtocol

/// Runs one restic command that only reads the repository (reports,
/// browsing), outside the job queue: its stdout lines go to a callback as
/// they arrive, its stderr is kept (scrubbed) to explain a failure, and a
/// failure is thrown as a ``ResticCommandError`` with a diagnosed message.
struct ResticReadCommand: Sendable {
    let restic: ResticInstallation
    let timeout: Duration
    let logger: Logger

    func run(
        _ arguments: [String], on repo: RepositoryConfig, stdout: (String) async -> Void
    ) async throws(ResticCommandError) {
        let command = arguments.prefix { !$0.hasPrefix("-") }.joined(separator: " ")
        let scrubber = SecretScrubber(secrets: ResticCommandBuilder.secrets(of: repo))
        var environment: [String: String?] = ResticCommandBuilder.environment(for: repo)
        for name in ResticCommandBuilder.conflictingVariables { environment[name] = String?.none }
        let child = ChildProcess(
            executable: .path(restic.path),
            arguments: arguments,
            environment: environment,
            timeout: timeout,
            stopGrace: .seconds(10),
            stopsOnTaskCancellation: true
        )
        var stderr: [String] = []
        let result: ChildProcess.Result
        do {
            result = try await child.run { line in
                switch line.stream {
                case .stdout: await stdout(line.text)
                case .stderr:
                    stderr.append(scrubber.scrub(line.text))
                    if stderr.count > ResticOutputInterpreter.stderrTailLength { stderr.removeFirst() }
                }
            }
        } catch {
            let message =
                switch error {
                case .notFound(let path): "restic not found at \(path)"
                case .failed(let reason): scrubber.scrub(reason)
                }
            throw ResticCommandError(command: command, exitCode: JobOutcome.noExitCode, message: message)
        }
        guard result.termination == .exited(0), result.stopReason == nil else {
            let message: String
            switch result.stopReason {
            case .timedOut: message = "timed out after \(HookRunner.describe(timeout))"
            case .cancelled: message = "cancelled"
            case nil:
                let outcome = ResticOutcomeMapper.outcome(
                    kind: .check,  // any kind but backup: exit 3 is a failure here
                    termination: result.termination,
                    stopReason: nil,
                    summary: nil,
                    readErrorCount: 0,
                    stderrTail: stderr,
                    repositoryURL: repo.url
                )
                message = outcome.error ?? "restic exited with code \(result.termination.exitCode)"
            }
            logger.warning("restic read command failed", metadata: ["command": "\(command)", "error": "\(message)"])
            throw ResticCommandError(command: command, exitCode: result.termination.exitCode, message: message)
        }
    }
}
