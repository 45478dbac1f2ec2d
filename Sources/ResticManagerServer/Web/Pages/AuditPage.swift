import Foundation
import Hummingbird
import ResticManagerCore
import ResticManagerProtocol

/// The audit log (admins only), newest first.
struct AuditPage {
    let services: ServerServices
    let responder: WebResponder

    struct Row {
        let time: String
        let timeText: String
        let actor: String
        let actorShort: String
        let action: String
        let targetType: String
        let targetID: String
        let targetShortID: String
        let targetLink: String?
        let details: String
        let ip: String
    }

    /// `{"kind":"backup","host_id":"…"}` → `host_id=… · kind=backup`.
    static func detailsText(_ json: String) -> String {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)),
            case .object(let members) = value
        else { return json }
        return members.keys.sorted().map { key in
            let member = members[key]!
            return "\(key)=\(member.stringValue ?? member.canonicalText)"
        }.joined(separator: " · ")
    }

    /// `agent:7131e4d0-f9df-…` → `agent:7131e4d0`; users keep their name.
    static func shortActor(_ actor: String) -> String {
        guard let colon = actor.firstIndex(of: ":"), !actor.hasPrefix("user:") else { return actor }
        let id = actor[actor.index(after: colon)...]
        return id.count > 12 ? String(actor[...colon] + id.prefix(8)) : actor
    }

    static func link(type: String, id: String) -> String? {
        switch type {
        case "host": "/hosts/\(id)"
        case "job": "/jobs/\(id)"
        case "schedule": "/schedules/\(id)/edit"
        default: nil
        }
    }

    struct Model {
        let rows: [Row]
        let hasRows: Bool
        let nextPage: String?
        let isFirstPage: Bool
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/audit", method: .get, access: .admin, use: show)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let pageRequest = try PageCursor.page(from: request)
        let page = try await services.database.auditLog(page: pageRequest)
        let rows = page.items.map {
            Row(time: WebFormat.machine($0.ts), timeText: WebFormat.timestamp($0.ts), actor: $0.actor,
                actorShort: Self.shortActor($0.actor), action: $0.action,
                targetType: $0.targetType, targetID: $0.targetId, targetShortID: String($0.targetId.prefix(8)),
                targetLink: Self.link(type: $0.targetType, id: $0.targetId), details: Self.detailsText($0.details),
                ip: $0.ip)
        }
        let model = Model(rows: rows, hasRows: !rows.isEmpty,
                          nextPage: PageLink.next("/audit", cursor: page.nextCursor, request: request),
                          isFirstPage: pageRequest.beforeRowID == nil)
        return try await responder.page("audit", title: "Audit log", section: "audit", page: model, request: request,
                              context: context)
    }
}
