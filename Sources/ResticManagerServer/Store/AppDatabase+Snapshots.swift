import Foundation
import GRDB
import ResticManagerProtocol

/// The snapshots in each host's repository, as its agent last reported them.
extension AppDatabase {
    public func snapshots(hostID: HostID, page: Page) async throws -> PageResult<SnapshotRecord> {
        try await read { tx in
            // Snapshots are replaced as a set on every report, so rowid order
            // is report order; sort by snapshot time instead and page by offset.
            let offset = Int(page.beforeRowID ?? 0)
            let rows = try tx.fetchAll(
                SnapshotRecord.self,
                "SELECT * FROM snapshots WHERE host_id = ? ORDER BY time DESC, snapshot_id LIMIT ? OFFSET ?",
                [hostID, page.limit + 1, offset])
            let next = rows.count > page.limit ? Int64(offset + page.limit) : nil
            return PageResult(items: Array(rows.prefix(page.limit)), nextCursor: next)
        }
    }

    /// The host's snapshot whose id is `id` or starts with it (restic's
    /// short ids), newest first if a short id is ambiguous.
    public func snapshot(hostID: HostID, matching id: String) async throws -> SnapshotRecord? {
        // Hex only, so nothing in it is a LIKE wildcard.
        guard RestoreArguments.snapshotIDProblem(id) == nil else { return nil }
        return try await read { tx in
            try tx.fetchOne(
                SnapshotRecord.self,
                "SELECT * FROM snapshots WHERE host_id = ? AND lower(snapshot_id) LIKE lower(?) ORDER BY time DESC LIMIT 1",
                [hostID, "\(id)%"])
        }
    }

    /// A `snapshots.report` replaces the host's whole set.
    func replaceSnapshots(_ tx: any StoreTransaction, hostID: HostID, with report: SnapshotsReportPayload) throws {
        try tx.execute("DELETE FROM snapshots WHERE host_id = ?", [hostID])
        for snapshot in report.snapshots {
            let record = SnapshotRecord(
                hostId: hostID, snapshotId: snapshot.id, time: snapshot.time, hostname: snapshot.hostname,
                paths: snapshot.paths, tags: snapshot.tags, sizeBytes: snapshot.sizeBytes ?? 0,
                fileCount: snapshot.fileCount ?? 0)
            // The record's own encoding of its columns: paths and tags as JSON.
            let values = try record.databaseDictionary
            try tx.execute(Self.upsertSnapshot, StoreArguments(Self.snapshotColumns.map { values[$0] }))
        }
    }

    private static let snapshotColumns = [
        "host_id", "snapshot_id", "time", "hostname", "paths", "tags", "size_bytes", "file_count",
    ]

    /// A snapshot the report lists twice keeps its last entry.
    private static let upsertSnapshot = """
        INSERT INTO snapshots (\(snapshotColumns.joined(separator: ", ")))
        VALUES (\(snapshotColumns.map { _ in "?" }.joined(separator: ", ")))
        ON CONFLICT (host_id, snapshot_id) DO UPDATE SET
            \(snapshotColumns.dropFirst(2).map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        """
}
