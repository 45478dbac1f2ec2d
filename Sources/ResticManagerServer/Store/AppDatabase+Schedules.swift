import Foundation
import GRDB
import ResticManagerProtocol

/// A schedule's definition as the API validated it, without identity or timestamps.
public struct ScheduleDefinition: Sendable, Equatable {
    public var kind: JobKind
    public var cronExpr: String
    public var paths: [String]
    public var excludes: [String]
    public var tags: [String]
    public var retentionPolicy: String?
    public var options: String?
    public var preHook: String
    public var postHook: String
    public var enabled: Bool
    /// The sealed ping URL: nil keeps the stored one, `.some(nil)` clears it.
    public var pingURLSealed: [UInt8]?? = nil
}

extension AppDatabase {
    public func schedules(hostID: HostID) async throws -> [ScheduleRecord] {
        try await read { tx in
            try tx.fetchAll(ScheduleRecord.self, "SELECT * FROM schedules WHERE host_id = ? ORDER BY created_at", [hostID])
        }
    }

    /// The enabled schedules of the given hosts (a page of the fleet), by host.
    public func enabledSchedules(hostIDs: [HostID]) async throws -> [HostID: [ScheduleRecord]] {
        guard !hostIDs.isEmpty else { return [:] }
        return try await read { tx in
            let placeholders = Array(repeating: "?", count: hostIDs.count).joined(separator: ", ")
            let schedules = try tx.fetchAll(
                ScheduleRecord.self, "SELECT * FROM schedules WHERE enabled = 1 AND host_id IN (\(placeholders))",
                StoreArguments(hostIDs))
            return Dictionary(grouping: schedules, by: \.hostId)
        }
    }

    public func schedule(id: ScheduleID) async throws -> ScheduleRecord? {
        try await read { tx in
            try tx.fetchOne(ScheduleRecord.self, id: id)
        }
    }

    /// The full set an agent must run and its version, read in one transaction
    /// so the two always agree.
    public func scheduleSet(hostID: HostID) async throws -> (version: Int64, schedules: [ScheduleRecord]) {
        try await read { tx in
            let version = try tx.value(
                Int64.self, "SELECT desired_version FROM host_schedule_version WHERE host_id = ?", [hostID]) ?? 0
            let schedules = try tx.fetchAll(
                ScheduleRecord.self, "SELECT * FROM schedules WHERE host_id = ? ORDER BY created_at", [hostID])
            return (version, schedules)
        }
    }

    /// Stores a new schedule. `id` is chosen by the caller so that a ping
    /// URL can be sealed to it before the row exists.
    public func createSchedule(
        id: ScheduleID = .random(), hostID: HostID, definition: ScheduleDefinition, by who: AuditActor
    ) async throws -> ScheduleRecord {
        try await write { tx in
            let now = Date()
            let record = ScheduleRecord(
                id: id, hostId: hostID, kind: definition.kind, cronExpr: definition.cronExpr,
                paths: definition.paths, excludes: definition.excludes, tags: definition.tags,
                retentionPolicy: definition.retentionPolicy, options: definition.options, preHook: definition.preHook,
                postHook: definition.postHook, enabled: definition.enabled, createdAt: now, updatedAt: now,
                pingUrlEnc: (definition.pingURLSealed ?? nil).map { Data($0) }, runsExpectedSince: now)
            try tx.insert(record)
            try bumpScheduleVersion(tx, hostID)
            try audit(tx, who, action: "schedule.create", targetType: "schedule", targetID: record.id.rawValue,
                      details: ["host_id": hostID.rawValue, "kind": definition.kind.rawValue, "cron": definition.cronExpr])
            return record
        }
    }

    public func updateSchedule(id: ScheduleID, definition: ScheduleDefinition, by who: AuditActor) async throws
        -> ScheduleRecord
    {
        try await write { tx in
            guard var record = try tx.fetchOne(ScheduleRecord.self, id: id) else {
                throw StoreError.notFound("schedule")
            }
            let now = Date()
            // Runs are expected again from now when a schedule is switched on
            // or its timing changes, so neither is reported as missed at once.
            if (definition.enabled && !record.enabled) || definition.cronExpr != record.cronExpr {
                record.runsExpectedSince = now
            }
            record.kind = definition.kind
            record.cronExpr = definition.cronExpr
            record.paths = definition.paths
            record.excludes = definition.excludes
            record.tags = definition.tags
            record.retentionPolicy = definition.retentionPolicy
            record.options = definition.options
            record.preHook = definition.preHook
            record.postHook = definition.postHook
            record.enabled = definition.enabled
            if let ping = definition.pingURLSealed { record.pingUrlEnc = ping.map { Data($0) } }
            record.updatedAt = now
            try tx.update(record)
            try bumpScheduleVersion(tx, record.hostId)
            try audit(tx, who, action: "schedule.update", targetType: "schedule", targetID: id.rawValue,
                      details: ["host_id": record.hostId.rawValue, "cron": definition.cronExpr,
                                "enabled": String(definition.enabled)])
            return record
        }
    }

    public func deleteSchedule(id: ScheduleID, by who: AuditActor) async throws -> HostID {
        try await write { tx in
            guard let record = try tx.fetchOne(ScheduleRecord.self, id: id) else {
                throw StoreError.notFound("schedule")
            }
            try tx.delete(ScheduleRecord.self, id: id)
            try bumpScheduleVersion(tx, record.hostId)
            try audit(tx, who, action: "schedule.delete", targetType: "schedule", targetID: id.rawValue,
                      details: ["host_id": record.hostId.rawValue])
            return record.hostId
        }
    }

    private func bumpScheduleVersion(_ tx: any StoreTransaction, _ hostID: HostID) throws {
        // The old version is named by its table: PostgreSQL would not know
        // whether a bare `desired_version` is the stored or the `excluded` one.
        try tx.execute(
            """
            INSERT INTO host_schedule_version (host_id, desired_version, acked_version, desired_at) VALUES (?, 1, 0, ?)
            ON CONFLICT (host_id) DO UPDATE SET desired_version = host_schedule_version.desired_version + 1,
                desired_at = excluded.desired_at
            """, [hostID, Date()])
    }

    public func scheduleVersion(hostID: HostID) async throws -> ScheduleVersionRecord? {
        try await read { tx in
            try tx.fetchOne(ScheduleVersionRecord.self, "SELECT * FROM host_schedule_version WHERE host_id = ?", [hostID])
        }
    }
}
