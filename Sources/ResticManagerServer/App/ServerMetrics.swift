import Foundation
import GRDB
import Synchronization

/// Counters of the agent protocol plus gauges read from the store at scrape
/// time, rendered in Prometheus text format (SPEC §9).
final class ServerMetrics: Sendable {
    private let messagesIn = Atomic<Int>(0)
    private let messagesOut = Atomic<Int>(0)
    private let logLinesIn = Atomic<Int>(0)

    func countIn(_ messages: Int, logLines: Int) {
        messagesIn.add(messages, ordering: .relaxed)
        logLinesIn.add(logLines, ordering: .relaxed)
    }

    func countOut(_ messages: Int) { messagesOut.add(messages, ordering: .relaxed) }

    func render(database: AppDatabase, hub: AgentHub) async throws -> String {
        let start = ContinuousClock.now
        let snapshot = try await database.metricsSnapshot()
        let latency = (ContinuousClock.now - start).timeInterval
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        metric("rm_hosts", "gauge", "Hosts by connection state.",
               [("{state=\"online\"}", "\(snapshot.online)"), ("{state=\"offline\"}", "\(snapshot.offline)")])
        metric("rm_jobs", "gauge", "Jobs by kind and status.",
               snapshot.jobs.map { ("{kind=\"\($0.kind)\",status=\"\($0.status)\"}", "\($0.count)") })
        metric("rm_last_successful_backup_timestamp_seconds", "gauge", "Finish time of each host's last good backup.",
               snapshot.lastBackups.map { ("{host_id=\"\($0.host)\"}", String(format: "%.0f", $0.time.timeIntervalSince1970)) })
        metric("rm_job_duration_seconds_sum", "counter", "Total run time of finished jobs by kind.",
               snapshot.durations.map { ("{kind=\"\($0.kind)\"}", String(format: "%.3f", $0.seconds)) })
        metric("rm_backup_bytes_added_total", "counter", "Bytes added to repositories by backups.",
               [("", "\(snapshot.bytesAdded)")])
        metric("rm_websocket_connections", "gauge", "Connected agents.", [("", "\(await hub.connectionCount)")])
        metric("rm_agent_messages_received_total", "counter", "Agent messages received.",
               [("", "\(messagesIn.load(ordering: .relaxed))")])
        metric("rm_agent_log_lines_received_total", "counter", "Job log lines received.",
               [("", "\(logLinesIn.load(ordering: .relaxed))")])
        metric("rm_agent_messages_sent_total", "counter", "Messages sent to agents.",
               [("", "\(messagesOut.load(ordering: .relaxed))")])
        metric("rm_database_scrape_latency_seconds", "gauge", "Time the metrics queries took.",
               [("", String(format: "%.6f", latency))])
        return lines.joined(separator: "\n") + "\n"
    }
}

struct MetricsSnapshot: Sendable {
    var online = 0
    var offline = 0
    var jobs: [(kind: String, status: String, count: Int)] = []
    var lastBackups: [(host: String, time: Date)] = []
    var durations: [(kind: String, seconds: Double)] = []
    var bytesAdded: Int64 = 0
}

extension AppDatabase {
    func metricsSnapshot() async throws -> MetricsSnapshot {
        try await writer.read { db in
            var snapshot = MetricsSnapshot()
            snapshot.online = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hosts WHERE revoked_at IS NULL AND connected = 1") ?? 0
            snapshot.offline = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hosts WHERE revoked_at IS NULL AND connected = 0") ?? 0
            snapshot.jobs = try Row.fetchAll(db, sql: "SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status")
                .map { ($0["kind"], $0["status"], $0["n"]) }
            snapshot.lastBackups = try Row.fetchAll(
                db, sql: """
                    SELECT host_id, MAX(finished_at) AS t FROM jobs
                    WHERE kind = 'backup' AND status = 'succeeded' GROUP BY host_id
                    """
            ).compactMap { row in (row["t"] as Date?).map { (row["host_id"], $0) } }
            snapshot.durations = try Row.fetchAll(
                db, sql: """
                    SELECT kind, SUM((julianday(finished_at) - julianday(started_at)) * 86400.0) AS s FROM jobs
                    WHERE finished_at IS NOT NULL AND started_at IS NOT NULL GROUP BY kind
                    """
            ).map { ($0["kind"], $0["s"] ?? 0) }
            snapshot.bytesAdded = try Int64.fetchOne(
                db, sql: "SELECT COALESCE(SUM(json_extract(stats, '$.data_added')), 0) FROM jobs WHERE kind = 'backup' AND json_valid(stats)") ?? 0
            return snapshot
        }
    }
}

