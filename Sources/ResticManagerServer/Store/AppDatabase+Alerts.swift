import Foundation
import GRDB
import ResticManagerProtocol

extension AppDatabase {
    // MARK: Rules

    /// Every rule with its settings, defaults where an admin changed nothing.
    public func alertRules() async throws -> [AlertRuleSettings] {
        try await read { tx in try Self.alertRules(tx) }
    }

    static func alertRules(_ tx: any StoreTransaction) throws -> [AlertRuleSettings] {
        let stored = Dictionary(
            try tx.fetchAll(AlertRuleRecord.self, "SELECT * FROM alert_rules").map { ($0.rule, $0) }, uniquingKeysWith: { first, _ in first })
        return AlertRule.allCases.map { rule in
            guard let row = stored[rule] else { return .defaults(rule) }
            return AlertRuleSettings(rule: rule, enabled: row.enabled,
                                     thresholdMinutes: rule.defaultThresholdMinutes == nil ? nil
                                         : row.thresholdMinutes ?? rule.defaultThresholdMinutes,
                                     repeatMinutes: row.repeatMinutes)
        }
    }

    public func setAlertRule(_ settings: AlertRuleSettings, by who: AuditActor) async throws {
        try await write { tx in
            try tx.execute(
                """
                INSERT INTO alert_rules (rule, enabled, threshold_minutes, repeat_minutes, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (rule) DO UPDATE SET enabled = excluded.enabled, threshold_minutes = excluded.threshold_minutes,
                    repeat_minutes = excluded.repeat_minutes, updated_at = excluded.updated_at
                """,
                [settings.rule, settings.enabled, settings.thresholdMinutes, settings.repeatMinutes, Date()])
            try audit(tx, who, action: "alert_rule.update", targetType: "alert_rule", targetID: settings.rule.rawValue,
                      details: ["enabled": String(settings.enabled),
                                "threshold_minutes": settings.thresholdMinutes.map { "\($0)" } ?? "",
                                "repeat_minutes": settings.repeatMinutes.map { "\($0)" } ?? ""])
        }
    }

    // MARK: Facts

    /// What the rules look at, in one read transaction.
    public func fleetFacts() async throws -> FleetFacts {
        try await read { tx in
            let running = Set(try tx.values(HostID.self, "SELECT DISTINCT host_id FROM jobs WHERE status = 'running'"))
            let reports = try Self.latestRepoReports(tx)
            let hosts = try tx.rows(
                """
                    SELECT h.id, h.name, h.connected, h.last_seen_at, h.enrolled_at, h.timezone,
                        COALESCE(v.desired_version, 0) AS desired, COALESCE(v.acked_version, 0) AS acked, v.desired_at
                    FROM hosts h LEFT JOIN host_schedule_version v ON v.host_id = h.id
                    WHERE h.revoked_at IS NULL
                    """
            ).map { row -> FleetFacts.Host in
                let id: HostID = row["id"]
                return FleetFacts.Host(
                    id: id, name: row["name"], connected: row["connected"], lastSeenAt: row["last_seen_at"],
                    enrolledAt: row["enrolled_at"],
                    timeZone: (row["timezone"] as String?).flatMap(TimeZone.init(identifier:)) ?? .utc,
                    desiredScheduleVersion: row["desired"], ackedScheduleVersion: row["acked"],
                    scheduleChangedAt: row["desired_at"], hasRunningJob: running.contains(id),
                    latestRepoReport: reports[id])
            }
            // The correlated MAX walks the (schedule_id, started_at) index: one seek per schedule.
            let schedules = try tx.rows(
                """
                    SELECT s.id, s.host_id, s.kind, s.cron_expr, COALESCE(s.runs_expected_since, s.created_at) AS since,
                        (SELECT MAX(started_at) FROM jobs j WHERE j.schedule_id = s.id) AS last_started
                    FROM schedules s JOIN hosts h ON h.id = s.host_id
                    WHERE s.enabled = 1 AND h.revoked_at IS NULL
                    """
            ).compactMap { row -> FleetFacts.Schedule? in
                guard let kind = JobKind(rawValue: row["kind"]) else { return nil }
                return FleetFacts.Schedule(id: row["id"], hostID: row["host_id"], kind: kind, cronExpr: row["cron_expr"],
                                           runsExpectedSince: row["since"], lastStartedAt: row["last_started"])
            }
            // Outcomes of deleted or disabled schedules no longer alert.
            let outcomes = try tx.rows(
                """
                    SELECT o.* FROM job_outcomes o LEFT JOIN schedules s ON s.id = o.schedule_id
                    WHERE o.schedule_id IS NULL OR s.enabled = 1
                    """
            ).compactMap { row -> FleetFacts.Outcome? in
                guard let kind = JobKind(rawValue: row["kind"]), let status = JobStatus(rawValue: row["status"]) else {
                    return nil
                }
                return FleetFacts.Outcome(
                    hostID: row["host_id"], subject: row["subject"], kind: kind, scheduleID: row["schedule_id"],
                    jobID: row["job_id"], status: status, finishedAt: row["finished_at"],
                    lastSuccessAt: row["last_success_at"])
            }
            let open = try tx.fetchAll(AlertRecord.self, "SELECT * FROM alerts WHERE state = ?", [AlertState.open])
            return FleetFacts(hosts: hosts, schedules: schedules, outcomes: outcomes, openKeys: Set(open.map(\.key)))
        }
    }

    /// The newest repository report of every active host, with when its
    /// current run of `locked` reports began.
    private static func latestRepoReports(_ tx: any StoreTransaction) throws -> [HostID: FleetFacts.RepoReport] {
        let rows = try tx.rows(
            """
                SELECT r.* FROM hosts h
                JOIN repo_stats r ON r.id = (SELECT id FROM repo_stats WHERE host_id = h.id ORDER BY id DESC LIMIT 1)
                WHERE h.revoked_at IS NULL
                """)
        var reports: [HostID: FleetFacts.RepoReport] = [:]
        for row in rows {
            let hostID: HostID = row["host_id"]
            let lockState: String = row["lock_state"]
            var lockedSince: Date?
            if lockState == "locked" {
                lockedSince = try tx.value(
                    Date.self,
                    """
                        SELECT MIN(reported_at) FROM repo_stats WHERE host_id = ? AND id > COALESCE(
                            (SELECT MAX(id) FROM repo_stats WHERE host_id = ? AND lock_state != 'locked'), 0)
                        """, [hostID, hostID])
            }
            reports[hostID] = FleetFacts.RepoReport(
                lockState: lockState, lockedSince: lockedSince, lastCheckAt: row["last_check_at"],
                lastCheckStatus: row["last_check_status"])
        }
        return reports
    }

    // MARK: Applying an evaluation

    /// Opens alerts for conditions that hold and have none, resolves open
    /// alerts whose condition cleared (or whose host is gone), and writes
    /// their notifications in the same transaction (SPEC §9.3).
    public func applyAlerts(
        _ conditions: [AlertKey: AlertCondition], rules: [AlertRuleSettings], now: Date = Date()
    ) async throws -> AlertChanges {
        let repeats = Dictionary(rules.map { ($0.rule, $0.repeatMinutes) }, uniquingKeysWith: { first, _ in first })
        return try await write { tx in
            var changes = AlertChanges()
            let open = try tx.fetchAll(AlertRecord.self, "SELECT * FROM alerts WHERE state = ?", [AlertState.open])
            let hostNames = try Self.activeHostNames(tx)
            var openKeys = Set<AlertKey>()
            for var alert in open {
                openKeys.insert(alert.key)
                if conditions[alert.key] == nil || hostNames[alert.hostId] == nil {
                    alert.state = .resolved
                    alert.resolvedAt = now
                    try tx.update(alert)
                    changes.resolved.append(alert.id)
                    changes.notifications += try enqueueAlertEvent(
                        tx, .alertResolved, AlertWithHost(alert: alert, hostName: hostNames[alert.hostId] ?? ""), now: now)
                } else if let minutes = repeats[alert.rule] ?? nil, alert.acknowledgedAt == nil,
                    now.timeIntervalSince(alert.lastNotifiedAt ?? alert.openedAt) >= minutes * 60
                {
                    alert.lastNotifiedAt = now
                    try tx.update(alert)
                    changes.repeated.append(alert.id)
                    changes.notifications += try enqueueAlertEvent(
                        tx, .alertOpened, AlertWithHost(alert: alert, hostName: hostNames[alert.hostId] ?? ""), now: now)
                }
            }
            for (key, condition) in conditions where !openKeys.contains(key) {
                guard let hostName = hostNames[key.hostID] else { continue }
                let alert = AlertRecord(
                    id: .random(), rule: key.rule, hostId: key.hostID, subject: key.subject,
                    scheduleId: condition.scheduleID, jobId: condition.jobID, severity: key.rule.severity, state: .open,
                    message: condition.message, openedAt: now, resolvedAt: nil, acknowledgedAt: nil,
                    acknowledgedBy: nil, lastNotifiedAt: now)
                try tx.insert(alert)
                changes.opened.append(alert.id)
                changes.notifications += try enqueueAlertEvent(
                    tx, .alertOpened, AlertWithHost(alert: alert, hostName: hostName), now: now)
            }
            return changes
        }
    }

    private static func activeHostNames(_ tx: any StoreTransaction) throws -> [HostID: String] {
        var names: [HostID: String] = [:]
        for row in try tx.rows("SELECT id, name FROM hosts WHERE revoked_at IS NULL") {
            names[row["id"]] = row["name"]
        }
        return names
    }

    // MARK: Reading and acknowledging

    public func alerts(filter: AlertFilter, page: Page) async throws -> PageResult<AlertWithHost> {
        try await read { tx in
            var conditions = SQLConditions()
            if let state = filter.state { conditions.add("state = ?", [state]) }
            if let host = filter.hostID { conditions.add("host_id = ?", [host]) }
            if let rule = filter.rule { conditions.add("rule = ?", [rule]) }
            let alerts = try fetchPage(tx, AlertRecord.self, conditions, page: page)
            let names = try Self.hostNames(tx, Set(alerts.items.map(\.hostId)))
            return PageResult(items: alerts.items.map { AlertWithHost(alert: $0, hostName: names[$0.hostId] ?? "") },
                              nextCursor: alerts.nextCursor)
        }
    }

    public func alert(id: AlertID) async throws -> AlertWithHost? {
        try await read { tx in
            guard let alert = try tx.fetchOne(AlertRecord.self, id: id) else { return nil }
            return AlertWithHost(alert: alert, hostName: try Self.hostNames(tx, [alert.hostId])[alert.hostId] ?? "")
        }
    }

    /// Counts of open alerts by rule, for metrics.
    public func openAlertCounts() async throws -> [AlertRule: Int] {
        try await read { tx in
            var counts: [AlertRule: Int] = [:]
            for row in try tx.rows("SELECT rule, COUNT(*) AS n FROM alerts WHERE state = 'open' GROUP BY rule") {
                if let rule = AlertRule(rawValue: row["rule"]) { counts[rule] = row["n"] }
            }
            return counts
        }
    }

    /// Records who acknowledged an open alert; it stays open until it resolves.
    public func acknowledgeAlert(id: AlertID, by who: AuditActor) async throws -> AlertWithHost {
        try await write { tx in
            guard var alert = try tx.fetchOne(AlertRecord.self, id: id) else { throw StoreError.notFound("alert") }
            guard alert.state == .open else {
                throw StoreError.conflict("alert \(id) is already resolved; only open alerts can be acknowledged")
            }
            if alert.acknowledgedAt == nil {
                alert.acknowledgedAt = Date()
                alert.acknowledgedBy = who.actor
                try tx.update(alert)
            }
            try audit(tx, who, action: "alert.acknowledge", targetType: "alert", targetID: id.rawValue,
                      details: ["rule": alert.rule.rawValue, "host_id": alert.hostId.rawValue])
            return AlertWithHost(alert: alert, hostName: try Self.hostNames(tx, [alert.hostId])[alert.hostId] ?? "")
        }
    }

    private static func hostNames(_ tx: any StoreTransaction, _ ids: Set<HostID>) throws -> [HostID: String] {
        guard !ids.isEmpty else { return [:] }
        var names: [HostID: String] = [:]
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        for row in try tx.rows("SELECT id, name FROM hosts WHERE id IN (\(placeholders))", StoreArguments(Array(ids))) {
            names[row["id"]] = row["name"]
        }
        return names
    }
}
