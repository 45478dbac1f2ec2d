import Foundation

/// Why a host needs attention: the one list of rules behind the fleet page,
/// the host page, the API's `attention` field and filters, and the counts at
/// the top of the page.
///
/// Each rule is a condition over the summary columns of the host's row (kept
/// by triggers, see `Migrations.fleetSummariesSchema`), so the store counts,
/// filters and orders 10,000 hosts in one scan of one table rather than
/// evaluating hosts one by one. Cases are in order of urgency.
public enum AttentionReason: String, CaseIterable, Sendable, Codable {
    case offline
    case noRepository = "no_repository"
    case lastBackupFailed = "last_backup_failed"
    case noSchedule = "no_schedule"
    case neverBackedUp = "never_backed_up"
    /// No successful backup for longer than the `backup_stale` alert rule's
    /// threshold, so that the page and the alert agree.
    case backupStale = "backup_stale"
    case schedulePending = "schedule_pending"
    case openAlerts = "open_alerts"

    /// The condition over a `hosts` row. `:stale_before` is bound by
    /// ``FleetSQL``.
    var condition: String {
        switch self {
        case .offline: "connected = 0"
        case .noRepository: "repo_configured = 0"
        case .lastBackupFailed: "last_backup_status = 'failed'"
        case .noSchedule: "enabled_schedules = 0"
        case .neverBackedUp: "last_success_at IS NULL"
        case .backupStale: "last_success_at < :stale_before"
        case .schedulePending: "schedule_pending != 0"
        case .openAlerts: "open_alerts > 0"
        }
    }

    /// The name of the 0/1 column ``FleetSQL`` selects for this reason.
    var column: String { "attention_\(rawValue)" }
}
