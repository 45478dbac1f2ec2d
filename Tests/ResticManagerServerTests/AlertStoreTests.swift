import Foundation
import GRDB
import ResticManagerCore
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// The store side of SPEC §9: outcomes kept by the trigger, alerts opened
/// and resolved with their notifications in one transaction, acknowledgement,
/// the delivery outbox and its back-off.
@Suite struct AlertStoreTests {
    let ingest = IngestTests()

    func webhookChannel(_ database: AppDatabase, events: [NotificationEvent] = NotificationEvent.subscribable,
                        enabled: Bool = true) async throws -> NotificationChannel {
        try await database.createChannel(
            id: .random(),
            ChannelChange(name: "ops", enabled: enabled, events: events,
                          settings: .webhook(WebhookConfig(url: "http://127.0.0.1:9/hook")), secretsSealed: nil),
            by: .system)
    }

    func condition(_ rule: AlertRule, _ host: HostID, subject: String = "") -> [AlertKey: AlertCondition] {
        let key = AlertKey(rule: rule, hostID: host, subject: subject)
        return [key: AlertCondition(key: key, scheduleID: nil, jobID: nil, message: "\(rule.rawValue) holds")]
    }

    func notifications(_ database: AppDatabase) async throws -> [NotificationRecord] {
        try await database.read { tx in
            try tx.fetchAll(NotificationRecord.self, "SELECT * FROM notifications ORDER BY created_at")
        }
    }

    func finish(_ database: AppDatabase, host: HostID, job: JobID, _ status: JobStatus, at: Date) async throws {
        _ = try await database.ingest(hostID: host, envelopes: [
            Envelope(message: .jobStarted(JobStartedPayload(jobID: job.rawValue, kind: .backup, startedAt: at))),
            Envelope(message: .jobFinished(JobFinishedPayload(jobID: job.rawValue, status: status, exitCode: 0, finishedAt: at))),
        ])
    }

    @Test func theTriggerKeepsTheNewestOutcomeAndLastSuccessPerSubject() async throws {
        let (database, host, first) = try await ingest.fixture()
        try await finish(database, host: host, job: first, .succeeded, at: Date(timeIntervalSince1970: 1_000))
        let second = try await database.createJob(hostID: host, scheduleID: nil, kind: .backup, trigger: .manual,
                                                  args: ["/etc"], expiresAfter: .seconds(60), by: .system)
        try await finish(database, host: host, job: second.id, .failed, at: Date(timeIntervalSince1970: 2_000))
        let outcomes = try await database.fleetFacts().outcomes
        #expect(outcomes.count == 1)
        #expect(outcomes.first?.subject == "kind:backup")
        #expect(outcomes.first?.status == .failed)
        #expect(outcomes.first?.jobID == second.id)
        #expect(outcomes.first?.lastSuccessAt == Date(timeIntervalSince1970: 1_000))
    }

    @Test func openingWritesOneNotificationPerSubscribedEnabledChannel() async throws {
        let (database, host, _) = try await ingest.fixture()
        let both = try await webhookChannel(database)
        _ = try await webhookChannel(database, events: [.alertResolved])
        _ = try await webhookChannel(database, enabled: false)
        let rules = try await database.alertRules()
        let opened = try await database.applyAlerts(condition(.hostOffline, host), rules: rules)
        #expect(opened.opened.count == 1)
        #expect(opened.notifications == 1)
        let again = try await database.applyAlerts(condition(.hostOffline, host), rules: rules)
        #expect(again.isEmpty, "one open alert per key; nothing sent twice")
        let resolved = try await database.applyAlerts([:], rules: rules)
        #expect(resolved.resolved == opened.opened)
        #expect(resolved.notifications == 2)
        let sent = try await notifications(database)
        #expect(sent.map(\.event) == [.alertOpened, .alertResolved, .alertResolved])
        #expect(sent.first?.channelId == both.id)
        #expect(Set(sent.map(\.id)).count == 3, "every notification has its own delivery id")
        let text = try #require(sent.first?.payload)
        let payload = try #require(JSONValue.parse(text))
        #expect(payload["rule"]?.stringValue == "host_offline")
        #expect(payload["host_name"]?.stringValue == "a")
        #expect(payload["state"]?.stringValue == "open")
    }

    @Test func aRevokedHostsAlertsResolveEvenIfTheirConditionStillHolds() async throws {
        let (database, host, _) = try await ingest.fixture()
        let rules = try await database.alertRules()
        _ = try await database.applyAlerts(condition(.hostOffline, host), rules: rules)
        try await database.revokeHost(id: host, by: .system)
        let changes = try await database.applyAlerts(condition(.hostOffline, host), rules: rules)
        #expect(changes.resolved.count == 1)
        #expect(changes.opened.isEmpty)
    }

    @Test func acknowledgingKeepsTheAlertOpenAndStopsRepeats() async throws {
        let (database, host, _) = try await ingest.fixture()
        _ = try await webhookChannel(database)
        var rules = try await database.alertRules()
        let index = try #require(rules.firstIndex { $0.rule == .hostOffline })
        rules[index].repeatMinutes = 1
        let start = Date()
        let opened = try await database.applyAlerts(condition(.hostOffline, host), rules: rules, now: start)
        let repeated = try await database.applyAlerts(
            condition(.hostOffline, host), rules: rules, now: start.addingTimeInterval(61))
        #expect(repeated.repeated == opened.opened)
        let id = try #require(opened.opened.first)
        let acknowledged = try await database.acknowledgeAlert(id: id, by: AuditActor(actor: "user:op", ip: ""))
        #expect(acknowledged.alert.state == .open)
        #expect(acknowledged.alert.acknowledgedBy == "user:op")
        let later = try await database.applyAlerts(
            condition(.hostOffline, host), rules: rules, now: start.addingTimeInterval(200))
        #expect(later.isEmpty)
        _ = try await database.applyAlerts([:], rules: rules)
        await #expect(throws: StoreError.self) {
            try await database.acknowledgeAlert(id: id, by: .system)
        }
    }

    @Test func failedAttemptsBackOffAndGiveUpAfterADay() async throws {
        let (database, host, _) = try await ingest.fixture()
        _ = try await webhookChannel(database)
        _ = try await database.applyAlerts(condition(.hostOffline, host), rules: try await database.alertRules())
        let record = try #require(try await notifications(database).first)
        let soon = record.createdAt.addingTimeInterval(1)
        #expect(try await database.recordDeliveryFailure(record.id, error: "HTTP 503", retry: true, now: soon) == false)
        var stored = try #require(try await notifications(database).first)
        #expect(stored.attempts == 1)
        #expect(stored.lastError == "HTTP 503")
        #expect(stored.nextAttemptAt == soon.addingTimeInterval(DeliveryBackoff.first))
        #expect(try await database.claimDueNotifications(now: soon, limit: 10, claim: .seconds(60)).isEmpty)
        let dayLater = record.createdAt.addingTimeInterval(DeliveryBackoff.giveUpAfter + 1)
        #expect(try await database.recordDeliveryFailure(record.id, error: "HTTP 503", retry: true, now: dayLater))
        stored = try #require(try await notifications(database).first)
        #expect(stored.status == .failed)
        #expect(stored.id == record.id)
    }

    @Test func backoffDoublesUpToTenMinutes() {
        let created = Date(timeIntervalSince1970: 0)
        let delays = (1...8).map { DeliveryBackoff.nextAttempt(after: $0, createdAt: created, now: created)!.timeIntervalSince1970 }
        #expect(delays == [10, 20, 40, 80, 160, 320, 600, 600])
    }

    @Test func aScheduleWithAPingURLGetsStartAndEndPingsWithTheLogTail() async throws {
        let (database, host, _) = try await ingest.fixture()
        var definition = ScheduleDefinition(
            kind: .backup, cronExpr: "0 3 * * *", paths: ["/etc"], excludes: [], tags: [], retentionPolicy: nil,
            options: nil, preHook: "", postHook: "", enabled: true)
        definition.pingURLSealed = .some([1, 2, 3])
        let schedule = try await database.createSchedule(hostID: host, definition: definition, by: .system)
        let job = "3f1c0a52-0000-4000-8000-000000000001"
        _ = try await database.ingest(hostID: host, envelopes: [
            Envelope(message: .jobStarted(JobStartedPayload(jobID: job, kind: .backup, startedAt: Date(),
                                                            scheduleID: schedule.id.rawValue, trigger: .schedule))),
            Envelope(message: .logStream(LogStreamLine(jobID: job, seq: 1, ts: Date(), stream: .stdout, payload: "hello"))),
            Envelope(message: .jobFinished(JobFinishedPayload(jobID: job, status: .failed, exitCode: 1, finishedAt: Date()))),
        ])
        let pings = try await notifications(database).filter { $0.target == .ping }
        #expect(pings.map(\.event) == [.pingStart, .pingFail])
        #expect(pings.last?.payload == "hello\n")
        #expect(pings.allSatisfy { $0.jobId == JobID(job) && $0.scheduleId == schedule.id })
    }

    @Test func theLogTailKeepsTheNewestWholeLinesWithinTheLimit() {
        let lines = (1...100).map { "line \($0)" }
        let tail = AppDatabase.logTail(newestFirst: lines.reversed(), maxBytes: 30)
        #expect(tail.utf8.count <= 30)
        #expect(tail.hasSuffix("line 100\n"))
        #expect(!tail.contains("line 96\n"))
        let huge = AppDatabase.logTail(newestFirst: [String(repeating: "x", count: 50_000)], maxBytes: 10_000)
        #expect(huge.utf8.count <= 10_000)
    }
}
