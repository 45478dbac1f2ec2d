import Foundation
import GRDB

public struct AlertRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "alerts"
    public var id: AlertID
    public var rule: AlertRule
    public var hostId: HostID
    public var subject: String
    public var scheduleId: ScheduleID?
    public var jobId: JobID?
    public var severity: AlertSeverity
    public var state: AlertState
    public var message: String
    public var openedAt: Date
    public var resolvedAt: Date?
    public var acknowledgedAt: Date?
    public var acknowledgedBy: String?
    public var lastNotifiedAt: Date?

    var key: AlertKey { AlertKey(rule: rule, hostID: hostId, subject: subject) }
}

/// An alert with the name of its host, as the API and receivers see it.
public struct AlertWithHost: Sendable, Equatable {
    public var alert: AlertRecord
    public var hostName: String
}

struct AlertRuleRecord: SnakeCaseRecord, Sendable {
    static let databaseTableName = "alert_rules"
    var rule: AlertRule
    var enabled: Bool
    var thresholdMinutes: Double?
    var repeatMinutes: Double?
    var updatedAt: Date
}

/// What one evaluation changed.
public struct AlertChanges: Sendable, Equatable {
    public var opened: [AlertID] = []
    public var resolved: [AlertID] = []
    /// Open alerts whose `alert.opened` was sent again (`repeat_minutes`).
    public var repeated: [AlertID] = []
    /// Notifications written with the changes.
    public var notifications = 0

    public var isEmpty: Bool { opened.isEmpty && resolved.isEmpty && repeated.isEmpty }
}

/// Filters of `GET /api/v1/alerts`.
public struct AlertFilter: Sendable, Equatable {
    public var state: AlertState?
    public var hostID: HostID?
    public var rule: AlertRule?

    public init(state: AlertState? = nil, hostID: HostID? = nil, rule: AlertRule? = nil) {
        self.state = state
        self.hostID = hostID
        self.rule = rule
    }
}
