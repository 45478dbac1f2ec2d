import Foundation
import ResticManagerCore
import ResticManagerProtocol

/// What the rules look at, read from the store in one transaction with a
/// handful of set-based queries (never one query per host).
public struct FleetFacts: Sendable {
    public struct Host: Sendable {
        public var id: HostID
        public var name: String
        public var connected: Bool
        public var lastSeenAt: Date?
        public var enrolledAt: Date
        public var timeZone: TimeZone
        public var desiredScheduleVersion: Int64
        public var ackedScheduleVersion: Int64
        /// When the newest schedule set was made.
        public var scheduleChangedAt: Date?
        public var hasRunningJob: Bool
        public var latestRepoReport: RepoReport?
    }

    /// The newest `repo.stats` report of a host.
    public struct RepoReport: Sendable {
        public var lockState: String
        /// The first report of the current run of `locked` reports.
        public var lockedSince: Date?
        public var lastCheckAt: Date?
        public var lastCheckStatus: String?
    }

    public struct Schedule: Sendable {
        public var id: ScheduleID
        public var hostID: HostID
        public var kind: JobKind
        public var cronExpr: String
        public var runsExpectedSince: Date
        public var lastStartedAt: Date?
    }

    /// The newest succeeded-or-failed job of a host and subject.
    public struct Outcome: Sendable {
        public var hostID: HostID
        public var subject: String
        public var kind: JobKind
        public var scheduleID: ScheduleID?
        public var jobID: JobID
        public var status: JobStatus
        public var finishedAt: Date
        public var lastSuccessAt: Date?
    }

    public var hosts: [Host]
    /// Enabled schedules of active hosts.
    public var schedules: [Schedule]
    public var outcomes: [Outcome]
    /// Keys of the alerts open now; some rules stay open on weaker evidence than they open on.
    public var openKeys: Set<AlertKey>
}

/// The rules of SPEC §9.1 as one pure function: given the facts, which
/// conditions hold now. The evaluator turns the difference with the open
/// alerts into opened and resolved alerts.
public enum AlertConditions {
    /// A job that started this long before its expected run still counts
    /// for it: agent clocks drift a little.
    public static let earlyStartTolerance: TimeInterval = 30

    public static func evaluate(
        _ facts: FleetFacts, rules: [AlertRule: AlertRuleSettings], now: Date, crons: inout CronCache
    ) -> [AlertKey: AlertCondition] {
        let view = FleetView(facts, now: now)
        var conditions: [AlertCondition] = []
        for rule in AlertRule.allCases {
            let settings = rules[rule] ?? .defaults(rule)
            guard settings.enabled else { continue }
            let threshold = settings.threshold
            let holding: [AlertCondition] = switch rule {
            case .backupMissed: backupMissed(view, threshold: threshold, crons: &crons)
            case .backupStale: backupStale(view, threshold: threshold)
            case .jobFailed: jobFailed(view)
            case .hostOffline: hostOffline(view, threshold: threshold)
            case .checkFailed: checkFailed(view)
            case .schedulePending: schedulePending(view, threshold: threshold)
            case .repoLocked: repoLocked(view, threshold: threshold)
            }
            conditions += holding
        }
        return Dictionary(conditions.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The facts indexed the ways the rules look them up.
    struct FleetView {
        let facts: FleetFacts
        let now: Date
        let hosts: [HostID: FleetFacts.Host]
        let outcomesByHost: [HostID: [FleetFacts.Outcome]]

        init(_ facts: FleetFacts, now: Date) {
            self.facts = facts
            self.now = now
            hosts = Dictionary(facts.hosts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            outcomesByHost = Dictionary(grouping: facts.outcomes, by: \.hostID)
        }

        func longerAgo(_ date: Date, than threshold: TimeInterval) -> Bool { now.timeIntervalSince(date) > threshold }
    }

    private static func condition(
        _ rule: AlertRule, _ host: HostID, subject: String = "", schedule: ScheduleID? = nil, job: JobID? = nil,
        _ message: String
    ) -> AlertCondition {
        AlertCondition(key: AlertKey(rule: rule, hostID: host, subject: subject), scheduleID: schedule, jobID: job,
                       message: message)
    }

    private static func backupMissed(_ view: FleetView, threshold: TimeInterval, crons: inout CronCache)
        -> [AlertCondition]
    {
        var result: [AlertCondition] = []
        for schedule in view.facts.schedules where schedule.kind == .backup {
            guard let host = view.hosts[schedule.hostID], let expression = crons.expression(schedule.cronExpr),
                let due = missedRun(schedule, expression: expression, zone: host.timeZone, threshold: threshold,
                                    now: view.now)
            else { continue }
            result.append(condition(
                .backupMissed, host.id, subject: schedule.id.rawValue, schedule: schedule.id,
                "Backup schedule \"\(schedule.cronExpr)\" on \(host.name) was due at \(RFC3339.format(due)) and has not started; check that the agent is running and its clock is right."))
        }
        return result
    }

    private static func backupStale(_ view: FleetView, threshold: TimeInterval) -> [AlertCondition] {
        let watched = Set(view.facts.schedules.filter { $0.kind == .backup }.map(\.hostID))
        return watched.compactMap { hostID in
            guard let host = view.hosts[hostID] else { return nil }
            let lastSuccess = view.outcomesByHost[hostID, default: []].filter { $0.kind == .backup }
                .compactMap(\.lastSuccessAt).max()
            let since = lastSuccess ?? host.enrolledAt
            guard view.longerAgo(since, than: threshold) else { return nil }
            let what = lastSuccess == nil ? "has never had a successful backup since it was enrolled"
                : "has had no successful backup since \(RFC3339.format(since))"
            return condition(.backupStale, hostID, "\(host.name) \(what); look at its recent backup jobs.")
        }
    }

    private static func jobFailed(_ view: FleetView) -> [AlertCondition] {
        view.facts.outcomes.compactMap { outcome in
            guard outcome.status == .failed, outcome.kind != .check, let host = view.hosts[outcome.hostID] else {
                return nil
            }
            let what = outcome.scheduleID == nil ? "The last \(outcome.kind.rawValue) job"
                : "The last run of a \(outcome.kind.rawValue) schedule"
            return condition(.jobFailed, host.id, subject: outcome.subject, schedule: outcome.scheduleID,
                             job: outcome.jobID, "\(what) on \(host.name) failed; open the job's log to see why.")
        }
    }

    private static func hostOffline(_ view: FleetView, threshold: TimeInterval) -> [AlertCondition] {
        view.facts.hosts.compactMap { host in
            let since = host.lastSeenAt ?? host.enrolledAt
            guard !host.connected, view.longerAgo(since, than: threshold) else { return nil }
            return condition(.hostOffline, host.id,
                             "\(host.name) has been offline since \(RFC3339.format(since)); check that the machine is up and its agent can reach the server.")
        }
    }

    private static func checkFailed(_ view: FleetView) -> [AlertCondition] {
        view.facts.hosts.compactMap { host in
            guard let failed = latestFailedCheck(host, outcomes: view.outcomesByHost[host.id, default: []]) else {
                return nil
            }
            return condition(.checkFailed, host.id, job: failed.job,
                             "The last repository check of \(host.name) failed; the repository may be damaged: read the check's log and run restic check again.")
        }
    }

    private static func schedulePending(_ view: FleetView, threshold: TimeInterval) -> [AlertCondition] {
        view.facts.hosts.compactMap { host in
            let since = host.scheduleChangedAt ?? host.enrolledAt
            guard host.ackedScheduleVersion < host.desiredScheduleVersion, view.longerAgo(since, than: threshold) else {
                return nil
            }
            return condition(.schedulePending, host.id,
                             "\(host.name) has not confirmed its schedules since \(RFC3339.format(since)); it keeps running the old ones until its agent connects and acknowledges.")
        }
    }

    /// Opens only while no job runs (a job holds a lock legitimately), but
    /// once open stays open until a report says unlocked.
    private static func repoLocked(_ view: FleetView, threshold: TimeInterval) -> [AlertCondition] {
        view.facts.hosts.compactMap { host in
            guard let report = host.latestRepoReport, report.lockState == "locked" else { return nil }
            let isOpen = view.facts.openKeys.contains(AlertKey(rule: .repoLocked, hostID: host.id, subject: ""))
            let lockedLongEnough = report.lockedSince.map { view.longerAgo($0, than: threshold) } ?? false
            guard isOpen || (lockedLongEnough && !host.hasRunningJob) else { return nil }
            return condition(.repoLocked, host.id,
                             "The repository of \(host.name) has been locked since \(report.lockedSince.map(RFC3339.format) ?? "an unknown time") with no job running; if no restic process holds it, run an unlock job.")
        }
    }

    /// The expected run of `schedule` that is more than `threshold` overdue
    /// with no job started for it, if any: the first run after the later of
    /// when runs became expected and when the schedule's last job started.
    public static func missedRun(
        _ schedule: FleetFacts.Schedule, expression: CronExpression, zone: TimeZone, threshold: TimeInterval, now: Date
    ) -> Date? {
        var anchor = schedule.runsExpectedSince
        if let started = schedule.lastStartedAt {
            anchor = max(anchor, started.addingTimeInterval(earlyStartTolerance))
        }
        guard let due = expression.nextRun(after: anchor, in: zone),
            now.timeIntervalSince(due) > threshold
        else { return nil }
        return due
    }

    /// The failed newest check outcome of a host — a check job or a
    /// repository report, whichever is newer — or nil when it passed or none exists.
    private static func latestFailedCheck(_ host: FleetFacts.Host, outcomes: [FleetFacts.Outcome])
        -> (job: JobID?, at: Date)?
    {
        let job = outcomes.filter { $0.kind == .check }.max { $0.finishedAt < $1.finishedAt }
        var newest: (failed: Bool, job: JobID?, at: Date)? = job.map { ($0.status == .failed, $0.jobID, $0.finishedAt) }
        if let report = host.latestRepoReport, let at = report.lastCheckAt, let status = report.lastCheckStatus,
            newest.map({ at > $0.at }) ?? true
        {
            switch status {
            case "failed", "error": newest = (true, nil, at)
            case "ok", "succeeded": newest = (false, nil, at)
            default: break
            }
        }
        guard let newest, newest.failed else { return nil }
        return (newest.job, newest.at)
    }
}

/// Parsed cron expressions by their text, kept across evaluations: most
/// schedules share a handful of expressions, and parsing 20,000 of them per
/// pass was an eighth of its time (`perf`, scripts/bench-alerts).
public struct CronCache: Sendable {
    private var parsed: [String: CronExpression?] = [:]

    public init() {}

    public mutating func expression(_ text: String) -> CronExpression? {
        if let cached = parsed[text] { return cached }
        let expression = try? CronExpression(text)
        // Bounded: a fleet with more distinct expressions than this re-parses the rest.
        if parsed.count < 10_000 { parsed[text] = .some(expression) }
        return expression
    }
}
