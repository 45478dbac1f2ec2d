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
                sameRows: "host counts (one aggregate) + 50 hosts, offline first, by name, with their summaries",
                target: list
            ) { db in
                _ = try Row.fetchAll(db, sql: Self.counts)
                _ = try Row.fetchAll(db, sql: Self.summaries(where: "1", order: "h.connected, h.name"))
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
                sameRows: "50 newest hosts offline, or whose last backup failed, is missing or older than 26 h",
                target: list
            ) { db in
                _ = try Row.fetchAll(
                    db,
                    sql: Self.summaries(
                        where: "(h.connected = 0 OR o.status IS NULL OR o.status != 'succeeded' OR o.finished_at < ?)",
                        order: "h.rowid DESC"),
                    arguments: [cutoff])
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

    private static let counts = """
        SELECT COUNT(*), SUM(connected), SUM(1 - connected) FROM hosts WHERE revoked_at IS NULL
        """

    /// A page of host summaries in one statement: the host row, its latest
    /// backup outcome, schedule sync, open alerts, repository size and
    /// whether a repository is set: what the list shows per host.
    private static func summaries(where condition: String, order: String) -> String {
        """
        SELECT h.*, o.job_id, o.status, o.finished_at, o.last_success_at, v.desired_version, v.acked_version,
            (SELECT COUNT(*) FROM alerts a WHERE a.host_id = h.id AND a.state = 'open') AS open_alerts,
            (SELECT size_bytes FROM repo_stats r WHERE r.host_id = h.id ORDER BY r.id DESC LIMIT 1) AS repo_size,
            c.repo_url != '' AS configured
        FROM hosts h
        LEFT JOIN job_outcomes o ON o.host_id = h.id AND o.kind = 'backup'
        LEFT JOIN host_schedule_version v ON v.host_id = h.id
        LEFT JOIN host_config c ON c.host_id = h.id
        WHERE h.revoked_at IS NULL AND \(condition)
        ORDER BY \(order) LIMIT 51
        """
    }
}
