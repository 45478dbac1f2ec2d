import Foundation
import Logging
import ResticManagerProtocol

/// Connects the queue's protocols to the restic implementations.
enum ResticAdapters {
    static func make(
        _ installation: ResticInstallation, hooksAllowed: Bool, logger: Logger
    ) -> (any JobRunning, any RepositoryReporting) {
        (JobExecutor(restic: installation, hooksAllowed: hooksAllowed, logger: logger),
         RepositoryReporter(restic: installation, logger: logger))
    }
}

extension JobExecutor: JobRunning {}

extension RepositoryReporter: RepositoryReporting {
    public func stats(_ repository: RepositoryConfig, lastCheck: CheckRecord?) async throws -> RepoStatsPayload {
        try await stats(repository, lastCheck: lastCheck.map { (at: $0.at, status: $0.status) })
    }
}
