import Foundation
import GRDB

/// The seven built-in rules of SPEC §9.1. Their names are fixed: operators'
/// filters and receivers match on them.
public enum AlertRule: String, CaseIterable, Codable, Sendable, DatabaseValueConvertible {
    case backupMissed = "backup_missed"
    case backupStale = "backup_stale"
    case jobFailed = "job_failed"
    case hostOffline = "host_offline"
    case checkFailed = "check_failed"
    case schedulePending = "schedule_pending"
    case repoLocked = "repo_locked"

    /// nil for rules that open on an event rather than after a time.
    public var defaultThresholdMinutes: Double? {
        switch self {
        case .backupMissed: 60
        case .backupStale: 1560
        case .hostOffline: 15
        case .schedulePending: 10
        case .repoLocked: 360
        case .jobFailed, .checkFailed: nil
        }
    }

    /// Critical: data is not being protected. Warning: it may soon not be.
    public var severity: AlertSeverity {
        switch self {
        case .backupMissed, .backupStale, .checkFailed: .critical
        case .jobFailed, .hostOffline, .schedulePending, .repoLocked: .warning
        }
    }
}

public enum AlertSeverity: String, Codable, Sendable, DatabaseValueConvertible {
    case warning, critical
}

public enum AlertState: String, Codable, Sendable, DatabaseValueConvertible {
    case open, resolved
}

/// A rule as an admin tuned it.
public struct AlertRuleSettings: Sendable, Equatable {
    public var rule: AlertRule
    public var enabled: Bool
    /// nil only for rules without a threshold.
    public var thresholdMinutes: Double?
    /// Re-send `alert.opened` this often while an alert stays open and
    /// unacknowledged; nil: never.
    public var repeatMinutes: Double?

    public static func defaults(_ rule: AlertRule) -> AlertRuleSettings {
        AlertRuleSettings(rule: rule, enabled: true, thresholdMinutes: rule.defaultThresholdMinutes, repeatMinutes: nil)
    }

    var threshold: TimeInterval { (thresholdMinutes ?? 0) * 60 }
}

/// What one alert is about: at most one alert per key is open at a time.
public struct AlertKey: Hashable, Sendable {
    public var rule: AlertRule
    public var hostID: HostID
    /// A schedule id, `kind:<kind>` for jobs without a schedule, or "" for
    /// rules about the whole host.
    public var subject: String
}

/// A rule's condition holding for one key right now.
public struct AlertCondition: Sendable, Equatable {
    public var key: AlertKey
    public var scheduleID: ScheduleID?
    public var jobID: JobID?
    /// What is wrong and what to do, in a sentence (SPEC §9.1).
    public var message: String
}
