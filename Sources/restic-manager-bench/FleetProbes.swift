import Foundation
import GRDB
import PostgresNIO
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
/// read, on the same store and in the same run, of the rows it shows.
///
/// "The same rows" is what a person sees from that URL, read with a few
/// set-based queries and nothing else (no JSON, no HTML, no HTTP): it is
/// the floor any implementation of the page stands on.
struct FleetProbe: Sendable {
    let label: String
    let path: String
    /// What `rawRead` reads, in words, for the table's notes.
    let sameRows: String
    let target: LatencyTarget?
    let rawRead: [RawQuery]
}

/// One statement of a raw read, written once for both engines: SQL both
/// accept, with PostgreSQL's `$n` placeholders, which become SQLite's `?n`.
struct RawQuery: Sendable {
    let sql: String
    let arguments: [String]

    init(_ sql: String, _ arguments: [String] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    var sqliteSQL: String { sql.replacingOccurrences(of: #"\$([0-9]+)"#, with: "?$1", options: .regularExpression) }
}

/// Runs raw reads against one engine's copy of the fleet on the calling
/// task (GRDB's read blocks this thread), so no pool or queue hop is timed
/// with the SQL. SQLite's rows are fetched into values, as GRDB does;
/// PostgreSQL's arrive whole and are not decoded further.
enum RawReader {
    case sqlite(DatabaseQueue)
    case postgres(PostgresConnection)

    static func with<Result>(_ store: StoreLocation, _ body: (RawReader) async throws -> Result) async throws -> Result {
        guard let postgres = store.postgres else {
            var configuration = Configuration()
            configuration.readonly = true
            return try await body(.sqlite(try DatabaseQueue(path: store.sqlitePath, configuration: configuration)))
        }
        return try await PostgresServer.withConnection(to: postgres) { try await body(.postgres($0)) }
    }

    func read(_ queries: [RawQuery]) async throws {
        switch self {
        case .sqlite(let queue):
            try Self.fetchAll(queries, from: queue)
        case .postgres(let connection):
            for query in queries {
                var binds = PostgresBindings(capacity: query.arguments.count)
                for argument in query.arguments { binds.append(argument) }
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: query.sql, binds: binds), logger: PostgresServer.logger)
                for try await _ in rows {}
            }
        }
    }

    /// Synchronous, so that GRDB's blocking read runs, not its async one.
    private static func fetchAll(_ queries: [RawQuery], from queue: DatabaseQueue) throws {
        try queue.read { db in
            for query in queries {
                _ = try Row.fetchAll(db, sql: query.sqliteSQL, arguments: StatementArguments(query.arguments))
            }
        }
    }
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
                target: list,
                rawRead: [
                    RawQuery(counts, [cutoff]),
                    RawQuery(summaries(where: "TRUE", order: "\(attention) DESC, h.name"), [cutoff]),
                ]),
            FleetProbe(
                label: "host list", path: "/api/v1/hosts?limit=50",
                sameRows: "50 newest hosts with their summaries", target: list,
                rawRead: [RawQuery(summaries(where: "TRUE", order: "h.rowid DESC"))]),
            FleetProbe(
                label: "host list, offline", path: "/api/v1/hosts?limit=50&status=offline",
                sameRows: "50 newest offline hosts with their summaries", target: list,
                rawRead: [RawQuery(summaries(where: "h.connected = 0", order: "h.rowid DESC"))]),
            FleetProbe(
                label: "host list, attention", path: "/api/v1/hosts?limit=50&attention=true",
                sameRows: "50 newest hosts needing attention (offline, no repository, last backup failed, "
                    + "no schedule, no success in 26 h, schedule pending, open alerts)",
                target: list,
                rawRead: [RawQuery(summaries(where: attention, order: "h.rowid DESC"), [cutoff])]),
            FleetProbe(
                label: "host list, search", path: "/api/v1/hosts?limit=50&q=\(hostQuery)",
                sameRows: "hosts whose name or hostname contains the query, 50 at most", target: list,
                rawRead: [
                    RawQuery(
                        summaries(where: "(h.name LIKE $1 OR h.hostname LIKE $1)", order: "h.rowid DESC"),
                        ["%\(hostQuery)%"])
                ]),
            FleetProbe(
                label: "host page", path: "/hosts/\(hostID)",
                sameRows: "the host's summary, schedules, 15 newest jobs, 50 snapshots, open alerts, 200 stats, config",
                target: page,
                rawRead: [
                    RawQuery(summaries(where: "h.id = $1", order: "h.rowid"), [hostID]),
                    RawQuery("SELECT * FROM schedules WHERE host_id = $1", [hostID]),
                    RawQuery("SELECT * FROM jobs WHERE host_id = $1 ORDER BY rowid DESC LIMIT 16", [hostID]),
                    RawQuery("SELECT * FROM snapshots WHERE host_id = $1 ORDER BY rowid DESC LIMIT 51", [hostID]),
                    RawQuery("SELECT * FROM alerts WHERE host_id = $1 AND state = 'open'", [hostID]),
                    RawQuery("SELECT * FROM repo_stats WHERE host_id = $1 ORDER BY id DESC LIMIT 201", [hostID]),
                    RawQuery("SELECT * FROM host_config WHERE host_id = $1", [hostID]),
                ]),
            FleetProbe(
                label: "job page", path: "/jobs/\(jobID)",
                sameRows: "the job, its host, and its first 5,000 log lines", target: page,
                rawRead: [
                    RawQuery("SELECT * FROM jobs WHERE id = $1", [jobID]),
                    RawQuery("SELECT * FROM hosts WHERE id = (SELECT host_id FROM jobs WHERE id = $1)", [jobID]),
                    RawQuery("SELECT * FROM job_logs WHERE job_id = $1 AND seq > 0 ORDER BY seq LIMIT 5000", [jobID]),
                ]),
            FleetProbe(
                label: "job list", path: "/api/v1/jobs?limit=50",
                sameRows: "the 50 newest jobs", target: nil,
                rawRead: [RawQuery("SELECT * FROM jobs ORDER BY rowid DESC LIMIT 51")]),
        ]
    }

    /// Whether a host needs attention, over the summary columns the store's
    /// triggers keep on its row (`$1`: the 26 h stale limit).
    private static let attention = """
        (h.connected = 0 OR h.repo_configured = 0 OR h.last_backup_status = 'failed' OR h.enabled_schedules = 0
            OR h.last_success_at IS NULL OR h.last_success_at < $1 OR h.schedule_pending != 0 OR h.open_alerts > 0)
        """

    /// Totals, hosts needing attention and each reason's count, in one scan
    /// (`FILTER`, not a sum of booleans, which PostgreSQL does not add up).
    private static let counts = """
        SELECT COUNT(*), SUM(h.connected), COUNT(*) FILTER (WHERE \(attention)),
            COUNT(*) FILTER (WHERE h.connected = 0), COUNT(*) FILTER (WHERE h.repo_configured = 0),
            COUNT(*) FILTER (WHERE h.last_backup_status = 'failed'), COUNT(*) FILTER (WHERE h.enabled_schedules = 0),
            COUNT(*) FILTER (WHERE h.last_success_at IS NULL), COUNT(*) FILTER (WHERE h.last_success_at < $1),
            COUNT(*) FILTER (WHERE h.schedule_pending != 0), COUNT(*) FILTER (WHERE h.open_alerts > 0),
            SUM(h.repo_size_bytes)
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
