import Foundation
import GRDB
import ResticManagerProtocol

/// A host as lists show it: its row with the summary columns the triggers
/// keep, and why it needs attention.
public struct HostSummary: Sendable, Equatable {
    public struct LastBackup: Sendable, Equatable {
        public var jobID: JobID
        public var status: JobStatus
        public var finishedAt: Date
    }

    public var host: HostRecord
    /// The newest finished (succeeded, failed or cancelled) backup.
    public var lastBackup: LastBackup?
    /// When the newest succeeded backup finished; nil if none ever did.
    public var lastSuccessfulBackupAt: Date?
    public var scheduleVersion: ScheduleVersionRecord
    public var openAlerts: Int
    /// From the newest repository stats report.
    public var repoSizeBytes: Int64?
    /// Whether an admin has set a repository URL for this host.
    public var repositoryConfigured: Bool
    public var enabledSchedules: Int
    /// Most urgent first; empty when the host is fine.
    public var attention: [AttentionReason]
}

/// The numbers at the top of the fleet page, over every active host
/// whatever the filter.
public struct FleetCounts: Sendable, Equatable {
    public var hosts = 0
    public var online = 0
    public var needingAttention = 0
    public var byReason: [AttentionReason: Int] = [:]
    public var repoSizeBytes: Int64 = 0
}

/// One page of the fleet: counts, how many hosts the filter matches, and the
/// page's hosts, those needing attention first, then by name.
public struct FleetPage: Sendable {
    public var counts: FleetCounts
    public var matching: Int
    public var hosts: [HostSummary]
}

extension AppDatabase {
    public func listHosts(page: Page, filter: HostFilter = HostFilter(), now: Date = Date()) async throws
        -> PageResult<HostSummary>
    {
        try await writer.read { db in
            var sql = try FleetSQL(db, filter: filter, now: now)
            var keyset = "TRUE"
            if let before = page.beforeRowID {
                keyset = "rowid < :before"
                sql.arguments += ["before": before]
            }
            sql.arguments += ["limit": page.limit + 1]
            let rows = try Row.fetchAll(db, sql: sql.summaries(
                of: "SELECT rowid AS row_id, * FROM hosts WHERE revoked_at IS NULL AND \(sql.filter) AND \(keyset) "
                    + "ORDER BY rowid DESC LIMIT :limit",
                orderedBy: "h.row_id DESC"), arguments: sql.arguments)
            let next: Int64? = rows.count > page.limit ? rows[page.limit - 1]["row_id"] : nil
            return PageResult(items: try rows.prefix(page.limit).map(FleetSQL.summary), nextCursor: next)
        }
    }

    /// The fleet page: one scan of `hosts` for the counts and the number of
    /// matching hosts, one for the page (SQLite keeps only `offset + limit`
    /// rows while sorting), and a primary-key join for the page's rows.
    public func fleetPage(filter: HostFilter, offset: Int, limit: Int, now: Date = Date()) async throws -> FleetPage {
        try await writer.read { db in
            var sql = try FleetSQL(db, filter: filter, now: now)
            let reasons = AttentionReason.allCases.map { "COALESCE(SUM(\($0.condition)), 0) AS \($0.column)" }
            let totals = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS hosts, COALESCE(SUM(connected), 0) AS online,
                    COALESCE(SUM(\(FleetSQL.needsAttention)), 0) AS attention, COALESCE(SUM(repo_size_bytes), 0) AS size,
                    COALESCE(SUM(\(sql.filter)), 0) AS matching, \(reasons.joined(separator: ", "))
                FROM hosts WHERE revoked_at IS NULL
                """, arguments: sql.arguments)
            var counts = FleetCounts()
            var matching = 0
            if let totals {
                counts = FleetCounts(
                    hosts: totals["hosts"], online: totals["online"], needingAttention: totals["attention"],
                    byReason: Dictionary(uniqueKeysWithValues: AttentionReason.allCases.map { ($0, totals[$0.column]) }),
                    repoSizeBytes: totals["size"])
                matching = totals["matching"]
            }
            sql.arguments += ["limit": limit, "offset": offset]
            let order = "\(FleetSQL.needsAttention) DESC, name COLLATE NOCASE, id"
            let rows = try Row.fetchAll(db, sql: sql.summaries(
                of: "SELECT * FROM hosts WHERE revoked_at IS NULL AND \(sql.filter) "
                    + "ORDER BY \(order) LIMIT :limit OFFSET :offset",
                orderedBy: order), arguments: sql.arguments)
            return FleetPage(counts: counts, matching: matching, hosts: try rows.map(FleetSQL.summary))
        }
    }

    /// Recomputes what triggers keep (`job_outcomes` and the hosts' summary
    /// columns) from the source tables, for rows written around the store:
    /// the fleet benchmark's bulk load.
    public static func recomputeSummaries(in db: Database) throws {
        try db.execute(sql: "DELETE FROM job_outcomes")
        try db.execute(sql: Migrations.jobOutcomesFromJobs)
        try db.execute(sql: Migrations.fleetSummariesFromSourceTables)
    }

    public func hostSummary(id: HostID, now: Date = Date()) async throws -> HostSummary? {
        try await writer.read { db in
            var sql = try FleetSQL(db, filter: HostFilter(), now: now)
            sql.arguments += ["id": id]
            return try Row.fetchOne(
                db, sql: sql.summaries(of: "SELECT * FROM hosts WHERE id = :id AND revoked_at IS NULL", orderedBy: "id"),
                arguments: sql.arguments
            ).map(FleetSQL.summary)
        }
    }
}

/// The SQL of host summaries: the attention conditions of
/// ``AttentionReason`` over `hosts` rows, a filter, and the join that turns
/// a page of rows into ``HostSummary`` values.
struct FleetSQL {
    var arguments: StatementArguments
    let filter: String

    init(_ db: Database, filter hostFilter: HostFilter, now: Date) throws {
        let staleAfter = try AppDatabase.alertRules(db).first { $0.rule == .backupStale }?.threshold
            ?? AlertRuleSettings.defaults(.backupStale).threshold
        arguments = ["stale_before": now.addingTimeInterval(-staleAfter)]
        var conditions = ["TRUE"]
        switch hostFilter.presence {
        case .online: conditions.append("connected = 1")
        case .offline: conditions.append("connected = 0")
        case nil: break
        }
        switch hostFilter.attention {
        case .needed: conditions.append(Self.needsAttention)
        case .healthy: conditions.append("NOT \(Self.needsAttention)")
        case .reason(let reason): conditions.append("(\(reason.condition))")
        case nil: break
        }
        if let search = hostFilter.search {
            conditions.append(#"(name LIKE :search ESCAPE '\' OR hostname LIKE :search ESCAPE '\')"#)
            arguments += ["search": "%" + Self.escapeLike(search) + "%"]
        }
        filter = "(" + conditions.joined(separator: " AND ") + ")"
    }

    static let needsAttention = "(" + AttentionReason.allCases.map { "(\($0.condition))" }.joined(separator: " OR ") + ")"

    /// Wraps `rows` (a query over `hosts`, with its own order and limit so
    /// that only the page's rows are joined) into the summary columns.
    func summaries(of rows: String, orderedBy order: String) -> String {
        let flags = AttentionReason.allCases.map { "COALESCE(\($0.condition), 0) AS \($0.column)" }
        return """
            SELECT h.*, \(flags.joined(separator: ", ")),
                COALESCE(v.desired_version, 0) AS v_desired, COALESCE(v.acked_version, 0) AS v_acked,
                v.acked_at AS v_acked_at, v.desired_at AS v_desired_at
            FROM (\(rows)) h LEFT JOIN host_schedule_version v ON v.host_id = h.id
            ORDER BY \(order)
            """
    }

    static func summary(_ row: Row) throws -> HostSummary {
        let host = try HostRecord(row: row)
        let lastBackup: HostSummary.LastBackup? = {
            guard let id: JobID = row["last_backup_job_id"],
                let status = (row["last_backup_status"] as String?).flatMap(JobStatus.init(rawValue:)),
                let finishedAt: Date = row["last_backup_finished_at"]
            else { return nil }
            return HostSummary.LastBackup(jobID: id, status: status, finishedAt: finishedAt)
        }()
        return HostSummary(
            host: host, lastBackup: lastBackup, lastSuccessfulBackupAt: row["last_success_at"],
            scheduleVersion: ScheduleVersionRecord(
                hostId: host.id, desiredVersion: row["v_desired"], ackedVersion: row["v_acked"],
                ackedAt: row["v_acked_at"], desiredAt: row["v_desired_at"]),
            openAlerts: row["open_alerts"], repoSizeBytes: row["repo_size_bytes"],
            repositoryConfigured: row["repo_configured"], enabledSchedules: row["enabled_schedules"],
            attention: AttentionReason.allCases.filter { row[$0.column] as Bool })
    }

    /// `%`, `_` and the escape character itself match literally.
    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
