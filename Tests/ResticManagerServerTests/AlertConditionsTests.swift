import Foundation
import ResticManagerCore
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// The rules of SPEC §9.1 as a pure function of the facts.
@Suite struct AlertConditionsTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    static func date(_ text: String) -> Date { RFC3339.parse(text)! }
    static func cron(_ schedule: FleetFacts.Schedule) -> CronExpression { try! CronExpression(schedule.cronExpr) }

    static func host(_ id: HostID = "h1", connected: Bool = true, zone: TimeZone = utc,
                     enrolledAt: Date = date("2026-01-01T00:00:00Z"), lastSeenAt: Date? = nil,
                     desired: Int64 = 1, acked: Int64 = 1, changedAt: Date? = nil, running: Bool = false,
                     report: FleetFacts.RepoReport? = nil) -> FleetFacts.Host {
        FleetFacts.Host(id: id, name: "web-\(id)", connected: connected, lastSeenAt: lastSeenAt, enrolledAt: enrolledAt,
                        timeZone: zone, desiredScheduleVersion: desired, ackedScheduleVersion: acked,
                        scheduleChangedAt: changedAt, hasRunningJob: running, latestRepoReport: report)
    }

    static func schedule(_ cron: String, host: HostID = "h1", since: Date, lastStarted: Date? = nil,
                         kind: JobKind = .backup) -> FleetFacts.Schedule {
        FleetFacts.Schedule(id: "s1", hostID: host, kind: kind, cronExpr: cron, runsExpectedSince: since,
                            lastStartedAt: lastStarted)
    }

    static func facts(hosts: [FleetFacts.Host], schedules: [FleetFacts.Schedule] = [], outcomes: [FleetFacts.Outcome] = [],
                      open: Set<AlertKey> = []) -> FleetFacts {
        FleetFacts(hosts: hosts, schedules: schedules, outcomes: outcomes, openKeys: open)
    }

    static func rules(_ changes: [AlertRule: Double] = [:]) -> [AlertRule: AlertRuleSettings] {
        var rules: [AlertRule: AlertRuleSettings] = [:]
        for rule in AlertRule.allCases {
            var settings = AlertRuleSettings.defaults(rule)
            if let threshold = changes[rule] { settings.thresholdMinutes = threshold }
            rules[rule] = settings
        }
        return rules
    }

    func evaluate(_ facts: FleetFacts, rules: [AlertRule: AlertRuleSettings] = rules(), now: String)
        -> [AlertKey: AlertCondition]
    {
        var crons = CronCache()
        return AlertConditions.evaluate(facts, rules: rules, now: Self.date(now), crons: &crons)
    }

    // MARK: backup_missed

    /// Only the backup_missed conditions (the hosts here never had a success, so backup_stale holds too).
    func missed(_ facts: FleetFacts, now: String) -> [AlertKey: AlertCondition] {
        evaluate(facts, now: now).filter { $0.key.rule == .backupMissed }
    }

    @Test func aRunMoreThanTheThresholdOverdueWithNoStartIsMissed() {
        let facts = Self.facts(hosts: [Self.host()],
                               schedules: [Self.schedule("0 3 * * *", since: Self.date("2026-03-01T12:00:00Z"))])
        #expect(missed(facts, now: "2026-03-02T03:59:00Z").isEmpty, "59 min late is within the 60 min threshold")
        let missed = missed(facts, now: "2026-03-02T04:01:00Z")
        let condition = missed[AlertKey(rule: .backupMissed, hostID: "h1", subject: "s1")]
        #expect(condition?.scheduleID == "s1")
        #expect(condition?.message.contains("2026-03-02T03:00:00Z") == true)
    }

    @Test func aStartAfterTheExpectedRunResolvesAndTheNextRunCountsAgain() {
        let since = Self.date("2026-03-01T12:00:00Z")
        let started = Self.facts(hosts: [Self.host()],
                                 schedules: [Self.schedule("0 3 * * *", since: since,
                                                           lastStarted: Self.date("2026-03-02T03:00:01Z"))])
        #expect(missed(started, now: "2026-03-02T05:00:00Z").isEmpty)
        #expect(missed(started, now: "2026-03-03T04:30:00Z").count == 1, "the next day's run was missed")
    }

    @Test func aStartAFewSecondsEarlyStillCountsButAMinuteEarlyDoesNot() {
        let since = Self.date("2026-03-01T12:00:00Z")
        func facts(_ started: String) -> FleetFacts {
            Self.facts(hosts: [Self.host()],
                       schedules: [Self.schedule("0 3 * * *", since: since, lastStarted: Self.date(started))])
        }
        #expect(missed(facts("2026-03-02T02:59:50Z"), now: "2026-03-02T05:00:00Z").isEmpty)
        #expect(missed(facts("2026-03-02T02:58:00Z"), now: "2026-03-02T05:00:00Z").count == 1)
    }

    @Test func runsBeforeTheScheduleWasCreatedOrEnabledAreNotExpected() {
        let facts = Self.facts(hosts: [Self.host()],
                               schedules: [Self.schedule("0 3 * * *", since: Self.date("2026-03-02T03:30:00Z"))])
        #expect(missed(facts, now: "2026-03-02T23:00:00Z").isEmpty)
        #expect(missed(facts, now: "2026-03-03T04:01:00Z").count == 1)
    }

    @Test func onlyBackupSchedulesAreWatched() {
        let facts = Self.facts(hosts: [Self.host()],
                               schedules: [Self.schedule("0 3 * * *", since: Self.date("2026-03-01T00:00:00Z"), kind: .check)])
        #expect(missed(facts, now: "2026-03-05T00:00:00Z").isEmpty)
    }

    /// 2026-03-29: Berlin skips 02:00–03:00. A 02:30 backup runs at 03:00
    /// CEST (docs/cron.md), so it is missed only an hour after that.
    @Test func missedRunAcrossSpringForwardUsesTheHostsZone() {
        let schedule = Self.schedule("30 2 * * *", since: Self.date("2026-03-28T12:00:00Z"),
                                     lastStarted: Self.date("2026-03-28T01:30:00Z"))
        let due = AlertConditions.missedRun(schedule, expression: Self.cron(schedule), zone: Self.berlin, threshold: 3600,
                                            now: Self.date("2026-03-29T02:01:00Z"))
        #expect(due == Self.date("2026-03-29T03:00:00+02:00"))
        #expect(AlertConditions.missedRun(schedule, expression: Self.cron(schedule), zone: Self.berlin, threshold: 3600,
                                          now: Self.date("2026-03-29T01:59:00Z")) == nil)
    }

    /// 2026-10-25: Berlin repeats 02:00–03:00. A 02:30 backup runs once, at
    /// the first 02:30 (CEST); a start then covers the whole night.
    @Test func missedRunAcrossFallBackExpectsOneRunOnly() {
        let started = Self.schedule("30 2 * * *", since: Self.date("2026-10-20T00:00:00Z"),
                                    lastStarted: Self.date("2026-10-25T02:30:00+02:00"))
        #expect(AlertConditions.missedRun(started, expression: Self.cron(started), zone: Self.berlin, threshold: 3600,
                                          now: Self.date("2026-10-25T06:00:00Z")) == nil)
        let never = Self.schedule("30 2 * * *", since: Self.date("2026-10-24T12:00:00Z"))
        #expect(AlertConditions.missedRun(never, expression: Self.cron(never), zone: Self.berlin, threshold: 3600,
                                          now: Self.date("2026-10-25T02:31:00Z")) == Self.date("2026-10-25T02:30:00+02:00"))
    }

    @Test func theHostsZoneDecidesWhenAWallClockTimeIsDue() {
        let schedule = Self.schedule("0 3 * * *", since: Self.date("2026-06-01T00:00:00Z"))
        // 03:00 in Berlin (summer) is 01:00 UTC.
        #expect(AlertConditions.missedRun(schedule, expression: Self.cron(schedule), zone: Self.berlin, threshold: 60,
                                          now: Self.date("2026-06-01T01:02:00Z")) == Self.date("2026-06-01T01:00:00Z"))
        #expect(AlertConditions.missedRun(schedule, expression: Self.cron(schedule), zone: Self.utc, threshold: 60,
                                          now: Self.date("2026-06-01T01:02:00Z")) == nil)
    }

    // MARK: The other rules

    @Test func backupStaleCountsFromEnrollmentWhenThereWasNeverASuccess() {
        let facts = Self.facts(hosts: [Self.host(enrolledAt: Self.date("2026-03-01T00:00:00Z"))],
                               schedules: [Self.schedule("0 3 * * *", since: Self.date("2026-03-01T00:00:00Z"))])
        let rules = Self.rules([.backupMissed: 100_000])
        #expect(evaluate(facts, rules: rules, now: "2026-03-02T01:00:00Z").isEmpty)
        let stale = evaluate(facts, rules: rules, now: "2026-03-02T02:01:00Z")
        #expect(stale.keys.map(\.rule) == [.backupStale])
        #expect(stale.values.first?.message.contains("never") == true)
    }

    @Test func jobFailedIsPerScheduleOrKindAndIgnoresChecks() {
        func outcome(_ subject: String, _ kind: JobKind, _ status: JobStatus) -> FleetFacts.Outcome {
            FleetFacts.Outcome(hostID: "h1", subject: subject, kind: kind,
                               scheduleID: subject.hasPrefix("kind:") ? nil : ScheduleID(subject), jobID: JobID("j-\(subject)"),
                               status: status, finishedAt: Self.date("2026-03-01T00:00:00Z"), lastSuccessAt: nil)
        }
        let facts = Self.facts(hosts: [Self.host()], outcomes: [
            outcome("s1", .backup, .failed), outcome("kind:prune", .prune, .failed), outcome("s2", .backup, .succeeded),
            outcome("kind:check", .check, .failed),
        ])
        let keys = Set(evaluate(facts, now: "2026-03-01T00:01:00Z").keys.filter { $0.rule == .jobFailed }.map(\.subject))
        #expect(keys == ["s1", "kind:prune"])
    }

    @Test func hostOfflineAfterTheThresholdSinceLastSeen() {
        let facts = Self.facts(hosts: [Self.host(connected: false, lastSeenAt: Self.date("2026-03-01T00:00:00Z"))])
        #expect(evaluate(facts, now: "2026-03-01T00:14:00Z").isEmpty)
        #expect(evaluate(facts, now: "2026-03-01T00:16:00Z").keys.map(\.rule) == [.hostOffline])
    }

    @Test func checkFailedTakesTheNewerOfJobAndReport() {
        let failedJob = FleetFacts.Outcome(hostID: "h1", subject: "kind:check", kind: .check, scheduleID: nil,
                                           jobID: "j1", status: .failed, finishedAt: Self.date("2026-03-01T00:00:00Z"),
                                           lastSuccessAt: nil)
        func report(_ status: String, at: String) -> FleetFacts.RepoReport {
            FleetFacts.RepoReport(lockState: "unlocked", lockedSince: nil, lastCheckAt: Self.date(at), lastCheckStatus: status)
        }
        let olderOK = Self.facts(hosts: [Self.host(report: report("ok", at: "2026-02-28T00:00:00Z"))], outcomes: [failedJob])
        #expect(evaluate(olderOK, now: "2026-03-01T01:00:00Z")[AlertKey(rule: .checkFailed, hostID: "h1", subject: "")]?.jobID == "j1")
        let newerOK = Self.facts(hosts: [Self.host(report: report("ok", at: "2026-03-01T00:30:00Z"))], outcomes: [failedJob])
        #expect(evaluate(newerOK, now: "2026-03-01T01:00:00Z").isEmpty)
        let reportOnly = Self.facts(hosts: [Self.host(report: report("failed", at: "2026-03-01T00:30:00Z"))])
        #expect(evaluate(reportOnly, now: "2026-03-01T01:00:00Z").keys.map(\.rule) == [.checkFailed])
    }

    @Test func schedulePendingAfterTheThresholdSinceTheChange() {
        let facts = Self.facts(hosts: [Self.host(desired: 3, acked: 2, changedAt: Self.date("2026-03-01T00:00:00Z"))])
        #expect(evaluate(facts, now: "2026-03-01T00:09:00Z").isEmpty)
        #expect(evaluate(facts, now: "2026-03-01T00:11:00Z").keys.map(\.rule) == [.schedulePending])
    }

    @Test func repoLockedOpensOnlyWithoutARunningJobButStaysOpenWhileOneRuns() {
        let locked = FleetFacts.RepoReport(lockState: "locked", lockedSince: Self.date("2026-03-01T00:00:00Z"),
                                           lastCheckAt: nil, lastCheckStatus: nil)
        let key = AlertKey(rule: .repoLocked, hostID: "h1", subject: "")
        let idle = Self.facts(hosts: [Self.host(report: locked)])
        #expect(evaluate(idle, now: "2026-03-01T05:59:00Z").isEmpty)
        #expect(evaluate(idle, now: "2026-03-01T06:01:00Z").keys.map(\.rule) == [.repoLocked])
        let busy = Self.facts(hosts: [Self.host(running: true, report: locked)])
        #expect(evaluate(busy, now: "2026-03-01T06:01:00Z").isEmpty)
        let busyButOpen = Self.facts(hosts: [Self.host(running: true, report: locked)], open: [key])
        #expect(evaluate(busyButOpen, now: "2026-03-01T06:01:00Z").keys.map(\.rule) == [.repoLocked])
    }

    @Test func aDisabledRuleHoldsNoCondition() {
        var rules = Self.rules()
        rules[.hostOffline]?.enabled = false
        let facts = Self.facts(hosts: [Self.host(connected: false, lastSeenAt: Self.date("2026-03-01T00:00:00Z"))])
        #expect(evaluate(facts, rules: rules, now: "2026-03-02T00:00:00Z").isEmpty)
    }
}
