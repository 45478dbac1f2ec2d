import Foundation
import GRDB

/// What `/metrics` reads from the store at scrape time.
struct MetricsSnapshot: Sendable {
    var online = 0
    var offline = 0
    var jobs: [(kind: String, status: String, count: Int)] = []
    var lastBackups: [(host: HostID, hostName: String, time: Date)] = []
}

extension AppDatabase {
    func metricsSnapshot() async throws -> MetricsSnapshot {
        try await read { tx in
            var snapshot = MetricsSnapshot()
            snapshot.online = try tx.count("SELECT COUNT(*) FROM hosts WHERE revoked_at IS NULL AND connected = 1")
            snapshot.offline = try tx.count("SELECT COUNT(*) FROM hosts WHERE revoked_at IS NULL AND connected = 0")
            snapshot.jobs = try tx.rows("SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status")
                .map { ($0["kind"], $0["status"], $0["n"]) }
            // One row per host and subject, kept at ingest: no scan of jobs.
            snapshot.lastBackups = try tx.rows(
                """
                SELECT o.host_id, h.name, MAX(o.last_success_at) AS t FROM job_outcomes o
                JOIN hosts h ON h.id = o.host_id
                WHERE o.kind = 'backup' AND h.revoked_at IS NULL AND o.last_success_at IS NOT NULL
                GROUP BY o.host_id, h.name
                """
            ).compactMap { row in (row["t"] as Date?).map { (row["host_id"], row["name"], $0) } }
            return snapshot
        }
    }
}
