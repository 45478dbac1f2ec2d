import Foundation
import Hummingbird
import ResticManagerCore
import ResticManagerProtocol

/// Enrollment tokens: create one (shown once, with the command that uses
/// it) and see or delete the others.
struct EnrollmentPage {
    let services: ServerServices
    let responder: WebResponder

    struct Row {
        let id: String
        let note: String
        let createdBy: String
        let createdAt: String
        let expiresAt: String
        let state: String
        let usedByHostID: String?
        let open: Bool
    }

    struct Created {
        let token: String
        let command: String
        let expiresAt: String
    }

    struct Model {
        let created: Created?
        let rows: [Row]
        let hasRows: Bool
        let hosts: [HostChoice]
        let hasHosts: Bool
        let nextPage: String?
        let defaultHours: Int
    }

    struct HostChoice {
        let id: String
        let name: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/enrollment", use: show)
        group.post("/enrollment", use: create)
        group.post("/enrollment/{id}/delete", use: delete)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, created: nil)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        var hours: Int?
        if let text = form.optionalText("expires_in_hours") {
            guard let value = Int(text) else { throw APIError.validation("expires_in_hours", "must be a whole number of hours") }
            hours = value
        }
        let body = EnrollmentController.CreateRequest(
            note: form.text("note"), expiresInHours: hours, replaceHostId: form.optionalText("replace_host_id"))
        let created = try await EnrollmentController(services: services).create(body, request: request, context: context)
        // Shown in this answer only: the server keeps nothing but its hash.
        return try await render(request, context: context, created: Created(
            token: created.token, command: created.installCommand, expiresAt: WebFormat.timestamp(created.expiresAt)))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await EnrollmentController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/enrollment", flash: "Enrollment token deleted.")
    }

    private func render(_ request: Request, context: AuthenticatedContext, created: Created?) async throws -> Response {
        try context.require(.admin)
        let page = try await services.database.listEnrollmentTokens(page: try PageCursor.page(from: request))
        let now = Date()
        let rows = page.items.map { token in
            let state = token.usedAt != nil ? "used" : (token.expiresAt <= now ? "expired" : "open")
            return Row(id: token.id.rawValue, note: token.note, createdBy: token.createdBy,
                       createdAt: WebFormat.timestamp(token.createdAt), expiresAt: WebFormat.relative(token.expiresAt, now: now),
                       state: state, usedByHostID: token.usedByHostId?.rawValue, open: state == "open")
        }
        let hosts = try await services.database.listHosts(page: Page(limit: Page.maxLimit)).items
            .map { HostChoice(id: $0.host.id.rawValue, name: $0.host.name) }
        let model = Model(
            created: created, rows: rows, hasRows: !rows.isEmpty, hosts: hosts, hasHosts: !hosts.isEmpty,
            nextPage: PageLink.next("/enrollment", cursor: page.nextCursor),
            defaultHours: Int(services.settings.enrollmentTokenLifetime.components.seconds / 3600))
        return responder.page("enrollment", title: "Enroll a host", section: "enrollment", page: model,
                              request: request, context: context, status: created == nil ? .ok : .created)
    }
}

/// Users and their roles (admins only).
struct UsersPage {
    let services: ServerServices
    let responder: WebResponder

    struct Row {
        let id: String
        let username: String
        let roles: [Choice]
        let disabled: Bool
        let isSelf: Bool
        let createdAt: String
        let lastLogin: String
    }

    struct Model {
        let rows: [Row]
        let roles: [Choice]
        let nextPage: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/users", use: show)
        group.post("/users", use: create)
        group.post("/users/{id}", use: update)
        group.post("/users/{id}/delete", use: delete)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try context.require(.admin)
        let page = try await services.database.listUsers(page: try PageCursor.page(from: request))
        let now = Date()
        let rows = page.items.map { user in
            Row(id: user.id.rawValue, username: user.username,
                roles: Self.roleOptions(selected: user.role), disabled: user.disabled,
                isSelf: user.id == context.user.id, createdAt: WebFormat.timestamp(user.createdAt),
                lastLogin: WebFormat.relative(user.lastLoginAt, now: now))
        }
        let model = Model(rows: rows, roles: Self.roleOptions(selected: .viewer),
                          nextPage: PageLink.next("/users", cursor: page.nextCursor))
        return responder.page("users", title: "Users", section: "users", page: model, request: request, context: context)
    }

    static func roleOptions(selected: Role) -> [Choice] {
        [Role.viewer, .operator, .admin].map { Choice(value: $0.rawValue, selected: $0 == selected) }
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let body = UserController.CreateRequest(
            username: form.text("username"), password: form["password"] ?? "", role: form.text("role"))
        let user = try await UserController(services: services).create(body, context: context)
        return WebResponse.redirect(to: "/users", flash: "User \(user.username) added as \(user.role.rawValue).")
    }

    @Sendable func update(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let body = UserController.UpdateRequest(
            role: form.optionalText("role"), disabled: form.isChecked("disabled"),
            password: (form["password"] ?? "").isEmpty ? nil : form["password"])
        let user = try await UserController(services: services).update(body, context: context)
        return WebResponse.redirect(to: "/users", flash: "User \(user.username) saved.")
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await UserController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/users", flash: "User deleted.")
    }
}

/// The signed-in user's own API tokens.
struct TokensPage {
    let services: ServerServices
    let responder: WebResponder

    struct Row {
        let id: String
        let name: String
        let createdAt: String
        let lastUsed: String
        let expires: String
    }

    struct Model {
        let created: APITokenController.Created?
        let rows: [Row]
        let hasRows: Bool
        let nextPage: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/tokens", use: show)
        group.post("/tokens", use: create)
        group.post("/tokens/{id}/delete", use: delete)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, created: nil)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        var expiresAt: Date?
        if let text = form.optionalText("expires_in_days") {
            guard let days = Int(text), (1...3650).contains(days) else {
                throw APIError.validation("expires_in_days", "must be a whole number of days from 1 to 3650")
            }
            expiresAt = Date().addingTimeInterval(Double(days) * 86400)
        }
        let created = try await APITokenController(services: services).create(
            APITokenController.CreateRequest(name: form.text("name"), expiresAt: expiresAt), context: context)
        return try await render(request, context: context, created: created)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await APITokenController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/tokens", flash: "API token revoked.")
    }

    private func render(_ request: Request, context: AuthenticatedContext, created: APITokenController.Created?)
        async throws -> Response
    {
        let page = try await services.database.listAPITokens(userID: context.user.id,
                                                             page: try PageCursor.page(from: request))
        let now = Date()
        let rows = page.items.map {
            Row(id: $0.id.rawValue, name: $0.name, createdAt: WebFormat.timestamp($0.createdAt),
                lastUsed: WebFormat.relative($0.lastUsedAt, now: now),
                expires: $0.expiresAt.map { WebFormat.relative($0, now: now) } ?? "never")
        }
        let model = Model(created: created, rows: rows, hasRows: !rows.isEmpty,
                          nextPage: PageLink.next("/tokens", cursor: page.nextCursor))
        return responder.page("tokens", title: "API tokens", section: "tokens", page: model, request: request,
                              context: context, status: created == nil ? .ok : .created)
    }
}

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
        group.get("/audit", use: show)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try context.require(.admin)
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
                          nextPage: PageLink.next("/audit", cursor: page.nextCursor),
                          isFirstPage: pageRequest.beforeRowID == nil)
        return responder.page("audit", title: "Audit log", section: "audit", page: model, request: request,
                              context: context)
    }
}
