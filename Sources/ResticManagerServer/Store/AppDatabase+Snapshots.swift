import Foundation
import GRDB
import ResticManagerProtocol

/// The snapshots in each host's repository, as its agent last reported them.
extension AppDatabase {
    public func snapshots(hostID: HostID, page: Page) async throws -> PageResult<SnapshotRecord> {
        try await writer.read { db in
            // Snapshots are replaced as a set on every report, so rowid order
            // is report order; sort by snapshot time instead and page by offset.
            let offset = Int(page.beforeRowID ?? 0)
            let rows = try SnapshotRecord.filter(Column("host_id") == hostID.rawValue)
                .order(Column("time").desc, Column("snapshot_id")).limit(page.limit + 1, offset: offset).fetchAll(db)
            let next = rows.count > page.limit ? Int64(offset + page.limit) : nil
            return PageResult(items: Array(rows.prefix(page.limit)), nextCursor: next)
        }
    }

    /// The host's snapshot whose id is `id` or starts with it (restic's
    /// short ids), newest first if a short id is ambiguous.
    public func snapshot(hostID: HostID, matching id: String) async throws -> SnapshotRecord? {
        // Hex only, so nothing in it is a LIKE wildcard.
        guard RestoreArguments.snapshotIDProblem(id) == nil else { return nil }
        return try await writer.read { db in
            try SnapshotRecord.filter(Column("host_id") == hostID.rawValue && Column("snapshot_id").like("\(id)%"))
                .order(Column("time").desc).fetchOne(db)
        }
    }

    /// A `snapshots.report` replaces the host's whole set.
    func replaceSnapshots(_ db: Database, hostID: HostID, with report: SnapshotsReportPayload) throws {
        try db.execute(sql: "DELETE FROM snapshots WHERE host_id = ?", arguments: [hostID])
        for snapshot in report.snapshots {
            try SnapshotRecord(
                hostId: hostID, snapshotId: snapshot.id, time: snapshot.time, hostname: snapshot.hostname,
                paths: snapshot.paths, tags: snapshot.tags, sizeBytes: snapshot.sizeBytes ?? 0,
                fileCount: snapshot.fileCount ?? 0
            ).save(db)
        }
    }
}
