import Foundation
import ResticManagerProtocol

/// Runs one job to its end (restic, hooks, cancellation). The default is
/// ``JobExecutor``; tests use fakes.
public protocol JobRunning: Sendable {
    /// Runs `spec`; task cancellation cancels the job.
    func run(_ spec: JobSpec, repository: RepositoryConfig, emit: @Sendable (JobEvent) async -> Void) async -> JobOutcome
}

/// Reads a repository's snapshots and health for `snapshots.report` and
/// `repo.stats`.
public protocol RepositoryReporting: Sendable {
    func snapshots(_ repository: RepositoryConfig) async throws -> [Snapshot]
    func stats(_ repository: RepositoryConfig, lastCheck: CheckRecord?) async throws -> RepoStatsPayload
}

/// Used when restic cannot be found: every job fails with a message that
/// says where the agent looked.
public struct MissingResticRunner: JobRunning {
    let configuredPath: String?

    public init(configuredPath: String?) {
        self.configuredPath = configuredPath
    }

    public func run(
        _ spec: JobSpec, repository: RepositoryConfig, emit: @Sendable (JobEvent) async -> Void
    ) async -> JobOutcome {
        let outcome = JobOutcome.resticNotFound(configuredPath: configuredPath)
        await emit(.log(.stderr, outcome.error ?? "restic not found"))
        return outcome
    }
}

/// How a job's definition is derived from what was accepted.
public enum JobSpecFactory {
    /// A scheduled job (or a run-now of a schedule) runs the schedule's
    /// definition; an ad-hoc backup backs up its `args`.
    public static func spec(for job: AcceptedJob) -> JobSpec {
        if let schedule = job.schedule {
            return JobSpec(
                jobID: job.id, kind: job.kind, scheduleID: schedule.id, paths: schedule.paths,
                excludes: schedule.excludes, tags: schedule.tags, retentionPolicy: schedule.retentionPolicy,
                options: schedule.options, preHook: schedule.preHook ?? "", postHook: schedule.postHook ?? "")
        }
        return JobSpec(jobID: job.id, kind: job.kind, scheduleID: job.scheduleID, paths: job.args, restore: job.restore)
    }

    /// The repository a job reads: a cross-host restore's source, else the
    /// host's own.
    public static func repository(for job: AcceptedJob, config: StoredConfig) -> RepositoryConfig {
        job.source.map(RepositoryConfig.init(source:)) ?? repository(from: config)
    }

    /// The repository settings a job runs with.
    public static func repository(from config: StoredConfig) -> RepositoryConfig {
        RepositoryConfig(
            url: config.repoURL, password: config.repoPassword, username: config.repoUsername,
            credential: config.repoCredential,
            hookShell: config.hookShell.isEmpty ? Platform.defaultHookShell : config.hookShell)
    }
}
