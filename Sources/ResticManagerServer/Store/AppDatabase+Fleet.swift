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
        try await read { tx in
            let sql = try FleetSQL(tx, filter: filter, now: now)
            var keyset = "TRUE"
            var arguments = sql.filterArguments
            if let before = page.beforeRowID {
                keyset = "rowid < ?"
                arguments = arguments + [before]
            }
            let rows = try tx.rows(
                sql.summaries(
                    of: "SELECT rowid AS row_id, * FROM hosts WHERE revoked_at IS NULL AND \(sql.filter) AND \(keyset) "
                        + "ORDER BY rowid DESC LIMIT ?",
                    orderedBy: "h.row_id DESC"),
                sql.arguments(arguments + [page.limit + 1]))
            let next: Int64? = rows.count > page.limit ? rows[page.limit - 1]["row_id"] : nil
            return PageResult(items: try rows.prefix(page.limit).map(FleetSQL.summary), nextCursor: next)
        }
    }

    /// The fleet page: one scan of `hosts` for the counts and the number of
    /// matching hosts, one for the page (SQLite keeps only `offset + limit`
    /// rows while sorting), and a primary-key join for the page's rows.
    public func fleetPage(filter: HostFilter, offset: Int, limit: Int, now: Date = Date()) async throws -> FleetPage {
        try await read { tx in
            let sql = try FleetSQL(tx, filter: filter, now: now)
            let reasons = AttentionReason.allCases.map {
                "COALESCE(SUM(\(FleetSQL.flag(FleetSQL.condition($0)))), 0) AS \($0.column)"
            }
            let totals = try tx.row(
                sql.statement("""
                    SELECT COUNT(*) AS hosts, COALESCE(SUM(connected), 0) AS online,
                        COALESCE(SUM(\(FleetSQL.flag(FleetSQL.needsAttention))), 0) AS attention,
                        COALESCE(SUM(repo_size_bytes), 0) AS size,
                        COALESCE(SUM(\(FleetSQL.flag(sql.filter))), 0) AS matching, \(reasons.joined(separator: ", "))
                    FROM hosts WHERE revoked_at IS NULL
                    """), sql.arguments(sql.filterArguments))
            var counts = FleetCounts()
            var matching = 0
            if let totals {
                counts = FleetCounts(
                    hosts: totals["hosts"], online: totals["online"], needingAttention: totals["attention"],
                    byReason: Dictionary(uniqueKeysWithValues: AttentionReason.allCases.map { ($0, totals[$0.column]) }),
                    repoSizeBytes: totals["size"])
                matching = totals["matching"]
            }
            // NULLS LAST is SQLite's place for a condition that is NULL;
            // PostgreSQL puts NULL first when descending.
            let order = "\(FleetSQL.needsAttention) DESC NULLS LAST, lower(name), id"
            let rows = try tx.rows(
                sql.summaries(
                    of: "SELECT * FROM hosts WHERE revoked_at IS NULL AND \(sql.filter) "
                        + "ORDER BY \(order) LIMIT ? OFFSET ?",
                    orderedBy: order),
                sql.arguments(sql.filterArguments + [limit, offset]))
            return FleetPage(counts: counts, matching: matching, hosts: try rows.map(FleetSQL.summary))
        }
    }

    /// Recomputes what triggers keep (`job_outcomes` and the hosts' summary
    /// columns) from the source tables, for rows written around the store:
    /// the fleet benchmark's bulk load, on SQLite only.
    public static func recomputeSummaries(in db: Database) throws {
        try db.execute(sql: "DELETE FROM job_outcomes")
        try db.execute(sql: Migrations.jobOutcomesFromJobs)
        try db.execute(sql: Migrations.fleetSummariesFromSourceTables)
    }

    public func hostSummary(id: HostID, now: Date = Date()) async throws -> HostSummary? {
        try await read { tx in
            let sql = try FleetSQL(tx, filter: HostFilter(), now: now)
            return try tx.row(
                sql.summaries(of: "SELECT * FROM hosts WHERE id = ? AND revoked_at IS NULL", orderedBy: "id"),
                sql.arguments([id])
            ).map(FleetSQL.summary)
        }
    }
}

/// The SQL of host summaries: the attention conditions of
/// ``AttentionReason`` over `hosts` rows, a filter, and the join that turns
/// a page of rows into ``HostSummary`` values.
///
/// The conditions read the time before which a backup is stale from a
/// one-row table that each statement declares first (``statement(_:)``), so
/// that they can appear anywhere and any number of times in it while the
/// time is bound once, as the statement's first argument.
struct FleetSQL {
    let staleBefore: Date
    let filter: String
    /// The filter's own arguments, in the order of its placeholders.
    let filterArguments: StoreArguments

    init(_ tx: any StoreTransaction, filter hostFilter: HostFilter, now: Date) throws {
        let staleAfter = try AppDatabase.alertRules(tx).first { $0.rule == .backupStale }?.threshold
            ?? AlertRuleSettings.defaults(.backupStale).threshold
        staleBefore = now.addingTimeInterval(-staleAfter)
        var conditions = ["TRUE"]
        var arguments: StoreArguments = []
        switch hostFilter.presence {
        case .online: conditions.append("connected = 1")
        case .offline: conditions.append("connected = 0")
        case nil: break
        }
        switch hostFilter.attention {
        case .needed: conditions.append(Self.needsAttention)
        case .healthy: conditions.append("NOT \(Self.needsAttention)")
        case .reason(let reason): conditions.append("(\(Self.condition(reason)))")
        case nil: break
        }
        if let search = hostFilter.search {
            // LIKE ignores case on SQLite only.
            conditions.append(#"(lower(name) LIKE lower(?) ESCAPE '\' OR lower(hostname) LIKE lower(?) ESCAPE '\')"#)
            let pattern = "%" + Self.escapeLike(search) + "%"
            arguments = arguments + [pattern, pattern]
        }
        filter = "(" + conditions.joined(separator: " AND ") + ")"
        filterArguments = arguments
    }

    /// `sql` preceded by the one-row table its conditions read.
    func statement(_ sql: String) -> String {
        "WITH fleet_parameters AS (SELECT ? AS stale_before) " + sql
    }

    /// The arguments of a ``statement(_:)`` whose own placeholders take `arguments`.
    func arguments(_ arguments: StoreArguments) -> StoreArguments {
        [staleBefore] + arguments
    }

    /// The reason's condition, reading `:stale_before` from `fleet_parameters`.
    static func condition(_ reason: AttentionReason) -> String {
        reason.condition.replacingOccurrences(of: ":stale_before", with: "(SELECT stale_before FROM fleet_parameters)")
    }

    static let needsAttention = "(" + AttentionReason.allCases.map { "(\(condition($0)))" }.joined(separator: " OR ") + ")"

    /// A condition as 0 or 1, NULL counting as 0: PostgreSQL neither sums
    /// nor coalesces booleans with integers.
    static func flag(_ condition: String) -> String {
        "CASE WHEN \(condition) THEN 1 ELSE 0 END"
    }

    /// Wraps `rows` (a query over `hosts`, with its own order and limit so
    /// that only the page's rows are joined) into the summary columns.
    func summaries(of rows: String, orderedBy order: String) -> String {
        let flags = AttentionReason.allCases.map { "\(Self.flag(Self.condition($0))) AS \($0.column)" }
        return statement("""
            SELECT h.*, \(flags.joined(separator: ", ")),
                COALESCE(v.desired_version, 0) AS v_desired, COALESCE(v.acked_version, 0) AS v_acked,
                v.acked_at AS v_acked_at, v.desired_at AS v_desired_at
            FROM (\(rows)) h LEFT JOIN host_schedule_version v ON v.host_id = h.id
            ORDER BY \(order)
            """)
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
