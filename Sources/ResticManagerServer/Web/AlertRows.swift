import Foundation
import Hummingbird

/// One alert as the alerts page and the host page list it.
struct AlertRow {
    let id: String
    let rule: String
    let severity: String
    let isCritical: Bool
    let hostID: String
    let hostName: String
    let message: String
    let isOpen: Bool
    let openedAt: String
    let openedAgo: String
    let openedText: String
    let resolvedAt: String?
    let resolvedAgo: String?
    /// "admin, 5 min ago"; nil while nobody has acknowledged it.
    let acknowledged: String?
    let acknowledgedAt: String?
    /// An operator may acknowledge it: open and not acknowledged yet.
    let canAcknowledge: Bool

    init(_ item: AlertWithHost, mayAcknowledge: Bool, now: Date = Date()) {
        let alert = item.alert
        id = alert.id.rawValue
        rule = alert.rule.rawValue
        severity = alert.severity.rawValue
        isCritical = alert.severity == .critical
        hostID = alert.hostId.rawValue
        hostName = item.hostName.isEmpty ? "deleted host" : item.hostName
        message = alert.message
        isOpen = alert.state == .open
        openedAt = WebFormat.machine(alert.openedAt)
        openedAgo = WebFormat.relative(alert.openedAt, now: now)
        openedText = WebFormat.timestamp(alert.openedAt)
        resolvedAt = alert.resolvedAt.map(WebFormat.machine)
        resolvedAgo = alert.resolvedAt.map { WebFormat.relative($0, now: now) }
        acknowledged = alert.acknowledgedAt.map {
            "\(Self.who(alert.acknowledgedBy ?? "")), \(WebFormat.relative($0, now: now))"
        }
        acknowledgedAt = alert.acknowledgedAt.map(WebFormat.machine)
        canAcknowledge = mayAcknowledge && alert.state == .open && alert.acknowledgedAt == nil
    }

    /// `user:admin` → `admin`; other actors stay as recorded.
    static func who(_ actor: String) -> String {
        actor.hasPrefix("user:") ? String(actor.dropFirst("user:".count)) : actor
    }
}

/// The alert rows of one list, with the path acknowledging sends the browser back to.
struct AlertTable {
    let rows: [AlertRow]
    let returnTo: String
    let showHost: Bool
    let hasRows: Bool

    init(rows: [AlertRow], returnTo: String, showHost: Bool) {
        self.rows = rows
        self.returnTo = returnTo
        self.showHost = showHost
        hasRows = !rows.isEmpty
    }
}
