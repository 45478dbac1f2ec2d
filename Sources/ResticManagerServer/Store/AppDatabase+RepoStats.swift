import Foundation
import GRDB
import ResticManagerProtocol

/// Repository size and health per host, as history (SPEC §3: not only the latest row).
extension AppDatabase {
    public func repoStats(hostID: HostID, page: Page) async throws -> PageResult<RepoStatsRecord> {
        try await writer.read { db in
            try fetchPage(db, RepoStatsRecord.filter(Column("host_id") == hostID.rawValue), page: page)
        }
    }

    /// Appends one `repo.stats` report to the host's history.
    func insertRepoStats(_ db: Database, hostID: HostID, _ stats: RepoStatsPayload, reportedAt: Date) throws {
        try RepoStatsRecord(
            id: nil, hostId: hostID, reportedAt: reportedAt, sizeBytes: stats.sizeBytes,
            snapshotCount: Int64(stats.snapshotCount), dedupRatio: stats.dedupRatio, lastCheckAt: stats.lastCheckAt,
            lastCheckStatus: stats.lastCheckStatus.flatMap { $0.isEmpty ? nil : $0 }, lockState: stats.lockState
        ).insert(db)
    }
}
