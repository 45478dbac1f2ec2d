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
}

extension AppDatabase {
    public func schedules(hostID: HostID) async throws -> [ScheduleRecord] {
        try await writer.read { db in
            try ScheduleRecord.filter(Column("host_id") == hostID.rawValue).order(Column("created_at")).fetchAll(db)
        }
    }

    /// Every enabled schedule of every active host, for the fleet overview.
    public func enabledSchedulesByHost() async throws -> [HostID: [ScheduleRecord]] {
        try await writer.read { db in
            let schedules = try ScheduleRecord.filter(Column("enabled") == true).fetchAll(db)
            return Dictionary(grouping: schedules, by: \.hostId)
        }
    }

    public func schedule(id: ScheduleID) async throws -> ScheduleRecord? {
        try await writer.read { db in
            try ScheduleRecord.fetchOne(db, key: id.rawValue)
        }
    }

    /// The full set an agent must run and its version, read in one transaction
    /// so the two always agree.
    public func scheduleSet(hostID: HostID) async throws -> (version: Int64, schedules: [ScheduleRecord]) {
        try await writer.read { db in
            let version = try ScheduleVersionRecord.fetchOne(db, key: hostID.rawValue)?.desiredVersion ?? 0
            let schedules = try ScheduleRecord.filter(Column("host_id") == hostID.rawValue).order(Column("created_at"))
                .fetchAll(db)
            return (version, schedules)
        }
    }

    public func createSchedule(hostID: HostID, definition: ScheduleDefinition, by who: AuditActor) async throws
        -> ScheduleRecord
    {
        try await writer.write { db in
            let now = Date()
            let record = ScheduleRecord(
                id: .random(), hostId: hostID, kind: definition.kind, cronExpr: definition.cronExpr,
                paths: definition.paths, excludes: definition.excludes, tags: definition.tags,
                retentionPolicy: definition.retentionPolicy, options: definition.options, preHook: definition.preHook,
                postHook: definition.postHook, enabled: definition.enabled, createdAt: now, updatedAt: now)
            try record.insert(db)
            try bumpScheduleVersion(db, hostID)
            try audit(db, who, action: "schedule.create", targetType: "schedule", targetID: record.id.rawValue,
                      details: ["host_id": hostID.rawValue, "kind": definition.kind.rawValue, "cron": definition.cronExpr])
            return record
        }
    }

    public func updateSchedule(id: ScheduleID, definition: ScheduleDefinition, by who: AuditActor) async throws
        -> ScheduleRecord
    {
        try await writer.write { db in
            guard var record = try ScheduleRecord.fetchOne(db, key: id.rawValue) else {
                throw StoreError.notFound("schedule")
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
            record.updatedAt = Date()
            try record.update(db)
            try bumpScheduleVersion(db, record.hostId)
            try audit(db, who, action: "schedule.update", targetType: "schedule", targetID: id.rawValue,
                      details: ["host_id": record.hostId.rawValue, "cron": definition.cronExpr,
                                "enabled": String(definition.enabled)])
            return record
        }
    }

    public func deleteSchedule(id: ScheduleID, by who: AuditActor) async throws -> HostID {
        try await writer.write { db in
            guard let record = try ScheduleRecord.fetchOne(db, key: id.rawValue) else {
                throw StoreError.notFound("schedule")
            }
            try record.delete(db)
            try bumpScheduleVersion(db, record.hostId)
            try audit(db, who, action: "schedule.delete", targetType: "schedule", targetID: id.rawValue,
                      details: ["host_id": record.hostId.rawValue])
            return record.hostId
        }
    }

    private func bumpScheduleVersion(_ db: Database, _ hostID: HostID) throws {
        try db.execute(
            sql: """
                INSERT INTO host_schedule_version (host_id, desired_version, acked_version) VALUES (?, 1, 0)
                ON CONFLICT(host_id) DO UPDATE SET desired_version = desired_version + 1
                """, arguments: [hostID])
    }

    public func scheduleVersion(hostID: HostID) async throws -> ScheduleVersionRecord? {
        try await writer.read { db in try ScheduleVersionRecord.fetchOne(db, key: hostID.rawValue) }
    }
}
