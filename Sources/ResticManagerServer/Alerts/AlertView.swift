import Foundation
import Hummingbird

/// The alert JSON of SPEC §9.1, for the API and for webhook bodies alike.
struct AlertView: ResponseEncodable, Sendable {
    let id: String
    let rule: AlertRule
    let hostId: String
    let hostName: String
    @ExplicitNull var scheduleId: String?
    @ExplicitNull var jobId: String?
    let severity: AlertSeverity
    let state: AlertState
    let message: String
    let openedAt: Date
    @ExplicitNull var resolvedAt: Date?
    @ExplicitNull var acknowledgedAt: Date?
    @ExplicitNull var acknowledgedBy: String?

    init(_ item: AlertWithHost) {
        let alert = item.alert
        id = alert.id.rawValue
        rule = alert.rule
        hostId = alert.hostId.rawValue
        hostName = item.hostName
        scheduleId = alert.scheduleId?.rawValue
        jobId = alert.jobId?.rawValue
        severity = alert.severity
        state = alert.state
        message = alert.message
        openedAt = alert.openedAt
        resolvedAt = alert.resolvedAt
        acknowledgedAt = alert.acknowledgedAt
        acknowledgedBy = alert.acknowledgedBy
    }

    /// The JSON text stored with a notification, as receivers will see it.
    var json: String {
        (try? APIJSON.makeEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
