import Foundation
import GRDB
import ResticManagerProtocol

/// Repository size and health per host, as history (SPEC §3: not only the latest row).
extension AppDatabase {
    public func repoStats(hostID: HostID, page: Page) async throws -> PageResult<RepoStatsRecord> {
        try await read { tx in
            try fetchPage(tx, RepoStatsRecord.self, SQLConditions("host_id = ?", [hostID]), page: page)
        }
    }

    /// Appends one `repo.stats` report to the host's history.
    func insertRepoStats(_ tx: any StoreTransaction, hostID: HostID, _ stats: RepoStatsPayload, reportedAt: Date) throws {
        let record = RepoStatsRecord(
            id: nil, hostId: hostID, reportedAt: reportedAt, sizeBytes: stats.sizeBytes,
            snapshotCount: Int64(stats.snapshotCount), dedupRatio: stats.dedupRatio, lastCheckAt: stats.lastCheckAt,
            lastCheckStatus: stats.lastCheckStatus.flatMap { $0.isEmpty ? nil : $0 }, lockState: stats.lockState)
        try tx.insert(record)
    }
}
