import Foundation
import GRDB
import ResticManagerServer

/// What issue #12 asks of a probe's 99th percentile.
struct LatencyTarget: Sendable {
    var p99Milliseconds: Double
    /// At most this many times the raw read's p99; nil: no such limit.
    var maxRatioToBaseline: Double?

    var description: String {
        "p99 ≤ \(Int(p99Milliseconds)) ms" + (maxRatioToBaseline.map { " and ≤ \(Int($0))× raw" } ?? "")
    }
}

/// One page or API call timed against the server, beside the plain SQL
/// read, on the same file and in the same run, of the rows it shows.
///
/// "The same rows" is what a person sees from that URL, read with a few
/// set-based queries and nothing else (no JSON, no HTML, no HTTP): it is
/// the floor any implementation of the page stands on.
struct FleetProbe: Sendable {
    let label: String
    let path: String
    /// What `baseline` reads, in words, for the table's notes.
    let sameRows: String
    let target: LatencyTarget?
    let baseline: @Sendable (Database) throws -> Void
}

extension FleetProbe {
    /// The URLs of issue #12. Add a line here to measure another one; a
    /// server that does not know a query parameter yet answers 400, which
    /// the table reports instead of a time.
    static func fleetProbes(hostID: String, jobID: String, hostQuery: String) -> [FleetProbe] {
        let list = LatencyTarget(p99Milliseconds: 50, maxRatioToBaseline: 3)
        let page = LatencyTarget(p99Milliseconds: 20)
        let cutoff = StoredDate.text(Date().addingTimeInterval(-26 * 3600))
        return [
            FleetProbe(
                label: "fleet page", path: "/",
                sameRows: "host counts (one aggregate) + 50 hosts, needing attention first, by name, with their summaries",
                target: list
            ) { db in
                _ = try Row.fetchAll(db, sql: Self.counts, arguments: [cutoff])
                _ = try Row.fetchAll(db, sql: Self.summaries(where: "1", order: "\(Self.attention) DESC, h.name"),
                                     arguments: [cutoff])
            },
            FleetProbe(
                label: "host list", path: "/api/v1/hosts?limit=50",
                sameRows: "50 newest hosts with their summaries", target: list
            ) { db in
                _ = try Row.fetchAll(db, sql: Self.summaries(where: "1", order: "h.rowid DESC"))
            },
            FleetProbe(
                label: "host list, offline", path: "/api/v1/hosts?limit=50&status=offline",
                sameRows: "50 newest offline hosts with their summaries", target: list
            ) { db in
                _ = try Row.fetchAll(db, sql: Self.summaries(where: "h.connected = 0", order: "h.rowid DESC"))
            },
            FleetProbe(
                label: "host list, attention", path: "/api/v1/hosts?limit=50&attention=true",
                sameRows: "50 newest hosts needing attention (offline, no repository, last backup failed, "
                    + "no schedule, no success in 26 h, schedule pending, open alerts)",
                target: list
            ) { db in
                _ = try Row.fetchAll(
                    db, sql: Self.summaries(where: Self.attention, order: "h.rowid DESC"), arguments: [cutoff])
            },
            FleetProbe(
                label: "host list, search", path: "/api/v1/hosts?limit=50&q=\(hostQuery)",
                sameRows: "hosts whose name or hostname contains the query, 50 at most", target: list
            ) { db in
                _ = try Row.fetchAll(
                    db, sql: Self.summaries(where: "(h.name LIKE ? OR h.hostname LIKE ?)", order: "h.rowid DESC"),
                    arguments: ["%\(hostQuery)%", "%\(hostQuery)%"])
            },
            FleetProbe(
                label: "host page", path: "/hosts/\(hostID)",
                sameRows: "the host's summary, schedules, 15 newest jobs, 50 snapshots, open alerts, 200 stats, config",
                target: page
            ) { db in
                _ = try Row.fetchAll(db, sql: Self.summaries(where: "h.id = ?", order: "h.rowid"), arguments: [hostID])
                _ = try Row.fetchAll(db, sql: "SELECT * FROM schedules WHERE host_id = ?", arguments: [hostID])
                _ = try Row.fetchAll(
                    db, sql: "SELECT * FROM jobs WHERE host_id = ? ORDER BY rowid DESC LIMIT 16", arguments: [hostID])
                _ = try Row.fetchAll(
                    db, sql: "SELECT * FROM snapshots WHERE host_id = ? ORDER BY rowid DESC LIMIT 51", arguments: [hostID])
                _ = try Row.fetchAll(
                    db, sql: "SELECT * FROM alerts WHERE host_id = ? AND state = 'open'", arguments: [hostID])
                _ = try Row.fetchAll(
                    db, sql: "SELECT * FROM repo_stats WHERE host_id = ? ORDER BY id DESC LIMIT 201", arguments: [hostID])
                _ = try Row.fetchAll(db, sql: "SELECT * FROM host_config WHERE host_id = ?", arguments: [hostID])
            },
            FleetProbe(
                label: "job page", path: "/jobs/\(jobID)",
                sameRows: "the job, its host, and its first 5,000 log lines", target: page
            ) { db in
                _ = try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [jobID])
                _ = try Row.fetchAll(
                    db, sql: "SELECT * FROM hosts WHERE id = (SELECT host_id FROM jobs WHERE id = ?)", arguments: [jobID])
                _ = try Row.fetchAll(
                    db, sql: "SELECT * FROM job_logs WHERE job_id = ? AND seq > 0 ORDER BY seq LIMIT 5000",
                    arguments: [jobID])
            },
            FleetProbe(
                label: "job list", path: "/api/v1/jobs?limit=50",
                sameRows: "the 50 newest jobs", target: nil
            ) { db in
                _ = try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY rowid DESC LIMIT 51")
            },
        ]
    }

    /// Whether a host needs attention, over the summary columns the store's
    /// triggers keep on its row (`?`: the 26 h stale limit).
    private static let attention = """
        (h.connected = 0 OR h.repo_configured = 0 OR h.last_backup_status = 'failed' OR h.enabled_schedules = 0
            OR h.last_success_at IS NULL OR h.last_success_at < ?1 OR h.schedule_pending != 0 OR h.open_alerts > 0)
        """

    /// Totals, hosts needing attention and each reason's count, in one scan.
    private static let counts = """
        SELECT COUNT(*), SUM(h.connected), SUM(\(attention)), SUM(h.connected = 0), SUM(h.repo_configured = 0),
            SUM(h.last_backup_status = 'failed'), SUM(h.enabled_schedules = 0), SUM(h.last_success_at IS NULL),
            SUM(h.last_success_at < ?1), SUM(h.schedule_pending != 0), SUM(h.open_alerts > 0), SUM(h.repo_size_bytes)
        FROM hosts h WHERE h.revoked_at IS NULL
        """

    /// A page of host summaries in one statement: the host row with the
    /// summary columns (last backup, last success, open alerts, repository
    /// size, schedules, whether a repository is set) and its schedule sync.
    private static func summaries(where condition: String, order: String) -> String {
        """
        SELECT h.*, v.desired_version, v.acked_version
        FROM hosts h LEFT JOIN host_schedule_version v ON v.host_id = h.id
        WHERE h.revoked_at IS NULL AND \(condition)
        ORDER BY \(order) LIMIT 51
        """
    }
}
