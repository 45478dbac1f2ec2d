import Foundation

/// The attention reasons in words, for the fleet and host pages.
enum AttentionText {
    /// The short name of a reason, for the filter menu and the counts.
    static func label(_ reason: AttentionReason) -> String {
        switch reason {
        case .offline: "offline"
        case .noRepository: "no repository"
        case .lastBackupFailed: "last backup failed"
        case .noSchedule: "no enabled schedule"
        case .neverBackedUp: "never backed up"
        case .backupStale: "backup too old"
        case .schedulePending: "schedule not confirmed"
        case .openAlerts: "open alerts"
        }
    }

    /// What is wrong with this host, with the details that say how badly.
    static func reasons(_ summary: HostSummary, now: Date) -> [String] {
        summary.attention.map { reason in
            switch reason {
            case .offline:
                "offline" + (summary.host.lastSeenAt.map { " (last seen \(WebFormat.relative($0, now: now)))" } ?? "")
            case .noRepository: "no repository configured"
            case .lastBackupFailed: "last backup failed"
            case .noSchedule: "no enabled schedule"
            case .neverBackedUp: "never backed up"
            case .backupStale:
                "no successful backup for "
                    + WebFormat.span(now.timeIntervalSince(summary.lastSuccessfulBackupAt ?? now))
            case .schedulePending: "schedule change not yet confirmed by the agent"
            case .openAlerts: summary.openAlerts == 1 ? "1 open alert" : "\(summary.openAlerts) open alerts"
            }
        }
    }
}
