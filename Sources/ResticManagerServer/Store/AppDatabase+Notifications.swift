import Foundation
import GRDB

extension AppDatabase {
    // MARK: Channels

    public func channels(page: Page) async throws -> PageResult<NotificationChannel> {
        try await read { tx in
            let page = try fetchPage(tx, NotificationChannelRecord.self, page: page)
            return PageResult(items: try page.items.map(Self.channel), nextCursor: page.nextCursor)
        }
    }

    public func channel(id: ChannelID) async throws -> NotificationChannel? {
        try await read { tx in try tx.fetchOne(NotificationChannelRecord.self, id: id).map(Self.channel) }
    }

    private static func channel(_ record: NotificationChannelRecord) throws -> NotificationChannel {
        NotificationChannel(
            id: record.id, name: record.name, enabled: record.enabled, events: record.events,
            settings: try ChannelSettings.decode(kind: record.kind, json: record.config),
            secretsSealed: record.secretsEnc.map(Array.init), createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    /// Stores a new channel. `id` is chosen by the caller so that its secrets
    /// can be sealed to it before the row exists.
    func createChannel(id: ChannelID, _ change: ChannelChange, by who: AuditActor) async throws -> NotificationChannel {
        try await write { tx in
            let now = Date()
            let record = NotificationChannelRecord(
                id: id, name: change.name, kind: change.settings.kind, enabled: change.enabled, events: change.events,
                config: change.settings.configJSON, secretsEnc: (change.secretsSealed ?? nil).map { Data($0) },
                createdAt: now, updatedAt: now)
            try tx.insert(record)
            try audit(tx, who, action: "notification_channel.create", targetType: "notification_channel",
                      targetID: id.rawValue, details: ["name": change.name, "kind": change.settings.kind.rawValue])
            return try Self.channel(record)
        }
    }

    func updateChannel(id: ChannelID, _ change: ChannelChange, by who: AuditActor) async throws -> NotificationChannel {
        try await write { tx in
            guard var record = try tx.fetchOne(NotificationChannelRecord.self, id: id) else {
                throw StoreError.notFound("notification channel")
            }
            guard record.kind == change.settings.kind else {
                throw StoreError.invalid("kind: a channel's kind cannot change; create a new channel instead")
            }
            record.name = change.name
            record.enabled = change.enabled
            record.events = change.events
            record.config = change.settings.configJSON
            if let sealed = change.secretsSealed { record.secretsEnc = sealed.map { Data($0) } }
            record.updatedAt = Date()
            try tx.update(record)
            try audit(tx, who, action: "notification_channel.update", targetType: "notification_channel",
                      targetID: id.rawValue,
                      details: ["name": change.name, "enabled": String(change.enabled),
                                "secrets": change.secretsSealed == nil ? "kept" : "changed"])
            return try Self.channel(record)
        }
    }

    func deleteChannel(id: ChannelID, by who: AuditActor) async throws {
        try await write { tx in
            guard try tx.delete(NotificationChannelRecord.self, id: id) else {
                throw StoreError.notFound("notification channel")
            }
            try audit(tx, who, action: "notification_channel.delete", targetType: "notification_channel",
                      targetID: id.rawValue)
        }
    }

    // MARK: Writing notifications (inside the transaction of their cause)

    /// One notification of `event` per enabled channel that subscribes to
    /// it; returns how many were written.
    func enqueueAlertEvent(
        _ tx: any StoreTransaction, _ event: NotificationEvent, _ alert: AlertWithHost, now: Date
    ) throws -> Int {
        let payload = AlertView(alert).json
        let channels = try tx.fetchAll(NotificationChannelRecord.self, "SELECT * FROM notification_channels WHERE enabled = 1")
            .filter { $0.events.contains(event) }
        for channel in channels {
            try tx.insert(NotificationRecord(
                id: .random(), target: .channel, channelId: channel.id, scheduleId: nil, event: event,
                alertId: alert.alert.id, jobId: alert.alert.jobId, payload: payload, status: .pending, attempts: 0,
                nextAttemptAt: now, lastError: nil, createdAt: now, deliveredAt: nil))
        }
        return channels.count
    }

    /// A `test` notification for one channel, sent even if it is disabled.
    func enqueueTest(channelID: ChannelID, by who: AuditActor) async throws -> DeliveryID {
        try await write { tx in
            guard try tx.exists(NotificationChannelRecord.self, id: channelID) else {
                throw StoreError.notFound("notification channel")
            }
            let now = Date()
            let record = NotificationRecord(
                id: .random(), target: .channel, channelId: channelID, scheduleId: nil, event: .test, alertId: nil,
                jobId: nil, payload: "null", status: .pending, attempts: 0, nextAttemptAt: now, lastError: nil,
                createdAt: now, deliveredAt: nil)
            try tx.insert(record)
            try audit(tx, who, action: "notification_channel.test", targetType: "notification_channel",
                      targetID: channelID.rawValue, details: ["delivery_id": record.id.rawValue])
            return record.id
        }
    }

    /// The most log a ping body carries, in bytes of UTF-8 (SPEC §9.3: ≤ 10 kB).
    static let pingBodyLimit = 10_000

    /// Writes the ping of `event` for the job's schedule if it has a ping
    /// URL; returns whether one was written.
    @discardableResult
    func enqueuePing(
        _ tx: any StoreTransaction, scheduleID: ScheduleID?, jobID: JobID, event: NotificationEvent, now: Date
    ) throws -> Bool {
        guard let scheduleID,
            try tx.value(Int.self, "SELECT 1 FROM schedules WHERE id = ? AND ping_url_enc IS NOT NULL", [scheduleID]) != nil
        else { return false }
        var body = ""
        if event != .pingStart {
            let newestFirst = try tx.values(
                String.self, "SELECT payload FROM job_logs WHERE job_id = ? ORDER BY seq DESC LIMIT 200", [jobID])
            body = Self.logTail(newestFirst: newestFirst, maxBytes: Self.pingBodyLimit)
        }
        try tx.insert(NotificationRecord(
            id: .random(), target: .ping, channelId: nil, scheduleId: scheduleID, event: event, alertId: nil,
            jobId: jobID, payload: body, status: .pending, attempts: 0, nextAttemptAt: now, lastError: nil,
            createdAt: now, deliveredAt: nil))
        return true
    }

    /// The newest whole lines that fit in `maxBytes`, oldest first.
    static func logTail(newestFirst lines: [String], maxBytes: Int) -> String {
        var kept: [Substring] = []
        var size = 0
        for line in lines {
            let text = line.hasSuffix("\n") ? Substring(line.dropLast()) : Substring(line)
            let cost = text.utf8.count + 1
            if size + cost > maxBytes {
                if kept.isEmpty { kept.append(Substring(String(decoding: text.utf8.suffix(maxBytes - 1), as: UTF8.self))) }
                break
            }
            kept.append(text)
            size += cost
        }
        return kept.reversed().joined(separator: "\n") + (kept.isEmpty ? "" : "\n")
    }

    // MARK: Delivery

    /// Claims up to `limit` pending notifications due by `now`, oldest
    /// first, for `claim` (SPEC §12: however many replicas look, each row
    /// is sent by the one that claimed it), with their destination. A claim
    /// ends with the attempt's outcome, or when it runs out: a replica that
    /// died mid-send leaves its rows to the others.
    func claimDueNotifications(now: Date, limit: Int, claim: Duration) async throws -> [DueNotification] {
        try await write { tx in
            let records = try tx.fetchAll(
                NotificationRecord.self,
                """
                SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?
                AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at LIMIT ?
                """, [now, now, limit])
            let claimedUntil = now.addingTimeInterval(claim.timeInterval)
            for record in records {
                try tx.execute("UPDATE notifications SET claimed_until = ? WHERE id = ?", [claimedUntil, record.id])
            }
            return try records.compactMap { record -> DueNotification? in
                switch record.target {
                case .channel:
                    guard let id = record.channelId, let channel = try tx.fetchOne(NotificationChannelRecord.self, id: id)
                    else { return nil }
                    return DueNotification(notification: record, destination: .channel(try Self.channel(channel)))
                case .ping:
                    guard let id = record.scheduleId,
                        let sealed = try tx.value(Data.self, "SELECT ping_url_enc FROM schedules WHERE id = ?", [id])
                    else { return nil }
                    return DueNotification(notification: record, destination: .ping(scheduleID: id, sealedURL: Array(sealed)))
                }
            }
        }
    }

    /// Gives claimed rows back unsent (shutting down mid-send): due again at once.
    func releaseClaims(_ ids: Set<DeliveryID>) async throws {
        guard !ids.isEmpty else { return }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        let arguments = StoreArguments(Array(ids))
        try await write { tx in
            try tx.execute("UPDATE notifications SET claimed_until = NULL WHERE id IN (\(placeholders))", arguments)
        }
    }

    /// When the next pending notification is due, if any.
    func nextNotificationDue() async throws -> Date? {
        try await read { tx in
            try tx.value(Date.self, "SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'pending'")
        }
    }

    func recordDelivered(_ id: DeliveryID, now: Date = Date()) async throws {
        try await write { tx in
            try tx.execute(
                """
                UPDATE notifications SET status = 'delivered', attempts = attempts + 1, delivered_at = ?,
                next_attempt_at = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'
                """, [now, id])
        }
    }

    /// Records a failed attempt; schedules the next one or gives up. Returns
    /// whether the notification is now `failed` for good.
    @discardableResult
    func recordDeliveryFailure(_ id: DeliveryID, error: String, retry: Bool, now: Date = Date()) async throws -> Bool {
        try await write { tx in
            guard var record = try tx.fetchOne(NotificationRecord.self, id: id), record.status == .pending else {
                return false
            }
            record.attempts += 1
            record.lastError = String(error.prefix(500))
            record.nextAttemptAt = retry
                ? DeliveryBackoff.nextAttempt(after: record.attempts, createdAt: record.createdAt, now: now) : nil
            if record.nextAttemptAt == nil { record.status = .failed }
            try tx.update(record)
            try tx.execute("UPDATE notifications SET claimed_until = NULL WHERE id = ?", [id])
            return record.status == .failed
        }
    }

    /// A channel's deliveries, newest first.
    func deliveries(channelID: ChannelID, page: Page) async throws -> PageResult<NotificationRecord> {
        try await read { tx in
            guard try tx.exists(NotificationChannelRecord.self, id: channelID) else {
                throw StoreError.notFound("notification channel")
            }
            return try fetchPage(tx, NotificationRecord.self, SQLConditions("channel_id = ?", [channelID]), page: page)
        }
    }
}
