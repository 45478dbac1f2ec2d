import Foundation
import ResticManagerProtocol

/// Decides a job's outcome from how restic ended and what it printed.
///
/// restic 0.14 exits 0 on success, 1 on a fatal error and 3 when a backup
/// made a snapshot but could not read some files. The fatal errors an
/// operator can act on are recognised in stderr and named plainly; any
/// other failure quotes restic's own `Fatal:` line.
enum ResticOutcomeMapper {
    /// restic's exit code for "snapshot made, some source files unreadable".
    static let incompleteSnapshotExitCode = 3

    static func outcome(
        kind: JobKind,
        termination: ChildProcess.Termination,
        stopReason: ChildProcess.StopReason?,
        summary: RawJSON?,
        readErrorCount: Int,
        stderrTail: [String],
        repositoryURL: String
    ) -> JobOutcome {
        let exitCode = termination.exitCode
        if stopReason == .cancelled {
            return JobOutcome(status: .cancelled, exitCode: exitCode, stats: summary, error: "cancelled")
        }
        if termination == .exited(0) {
            return JobOutcome(status: .succeeded, exitCode: 0, stats: summary)
        }
        if kind == .backup, termination == .exited(incompleteSnapshotExitCode) {
            return JobOutcome(
                status: .succeeded,
                exitCode: exitCode,
                stats: summary,
                error: incompleteSnapshotMessage(readErrorCount: readErrorCount)
            )
        }
        if case .signaled(let signal) = termination {
            return JobOutcome(
                status: .failed,
                exitCode: exitCode,
                stats: summary,
                error: "restic was killed by signal \(signal)"
            )
        }
        let error =
            diagnose(stderrTail, repositoryURL: repositoryURL)
            ?? fallbackMessage(stderrTail, exitCode: exitCode)
        return JobOutcome(status: .failed, exitCode: exitCode, stats: summary, error: error)
    }

    /// The error text of a backup that exited 3.
    static func incompleteSnapshotMessage(readErrorCount: Int) -> String {
        switch readErrorCount {
        case 0: "some files could not be read; the snapshot is incomplete"
        case 1: "1 file could not be read; the snapshot is incomplete"
        default: "\(readErrorCount) files could not be read; the snapshot is incomplete"
        }
    }

    /// A plain explanation of the failures an operator can fix, or nil.
    static func diagnose(_ stderr: [String], repositoryURL: String) -> String? {
        let location = ResticCommandBuilder.redactedURL(repositoryURL)
        func line(containing needle: String) -> String? {
            stderr.last { $0.localizedCaseInsensitiveContains(needle) }
        }
        // Order matters: restic adds "Is there a repository at the following
        // location?" to every failure to open the config file, including
        // rejected credentials and unreachable servers.
        if line(containing: "wrong password or no key found") != nil {
            return "wrong repository password"
        }
        if line(containing: "unexpected HTTP response (401)") != nil {
            return
                "the repository server rejected the credentials (HTTP 401); check the repository username and credential"
        }
        if line(containing: "unexpected HTTP response (403)") != nil {
            return "the repository server refused access (HTTP 403); check the repository username and credential"
        }
        if let unreachable = line(containing: "connection refused") ?? line(containing: "no such host")
            ?? line(containing: "i/o timeout")
        {
            return "cannot reach the repository at \(location): \(strippingFatal(unreachable))"
        }
        if line(containing: "config file already exists") != nil {
            return "a repository already exists at \(location)"
        }
        if let locked = line(containing: "repository is already locked") {
            let detail =
                locked.range(of: "repository is already locked").map { String(locked[$0.lowerBound...]) } ?? locked
            return "\(detail); if no other restic is using the repository, run an unlock job to remove the stale lock"
        }
        if line(containing: "Is there a repository at the following location?") != nil {
            return "repository does not exist at \(location); run an init job to create it"
        }
        return nil
    }

    private static func fallbackMessage(_ stderr: [String], exitCode: Int) -> String {
        if let fatal = stderr.last(where: { $0.hasPrefix("Fatal: ") }) {
            return "restic failed: \(strippingFatal(fatal))"
        }
        if let last = stderr.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            return "restic exited with code \(exitCode): \(last)"
        }
        return "restic exited with code \(exitCode)"
    }

    private static func strippingFatal(_ line: String) -> String {
        line.hasPrefix("Fatal: ") ? String(line.dropFirst("Fatal: ".count)) : line
    }
}
