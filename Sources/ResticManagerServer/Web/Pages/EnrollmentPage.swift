import Foundation
import Hummingbird
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
        let defaultHours: String
        /// A refused form: the note typed and why.
        let typedNote: String
        let formError: String?
    }

    struct HostChoice {
        let id: String
        let name: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/enrollment", method: .get, access: .admin, use: show)
        group.on("/enrollment", method: .post, access: .admin, use: create)
        group.on("/enrollment/{id}/delete", method: .post, access: .admin, use: delete)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, created: nil)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        do {
            var hours: Int?
            if let text = form.optionalText("expires_in_hours") {
                guard let value = Int(text) else {
                    throw APIError.validation("expires_in_hours", "must be a whole number of hours")
                }
                hours = value
            }
            let body = EnrollmentController.CreateRequest(
                note: form.text("note"), expiresInHours: hours, replaceHostId: form.optionalText("replace_host_id"))
            let created = try await EnrollmentController(services: services).create(body, request: request, context: context)
            // Shown in this answer only: the server keeps nothing but its hash.
            return try await render(request, context: context, created: Created(
                token: created.token, command: created.installCommand, expiresAt: WebFormat.timestamp(created.expiresAt)))
        } catch {
            guard let error = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await render(request, context: context, created: nil, typed: form, error: error)
        }
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await EnrollmentController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/enrollment", flash: "Enrollment token deleted.")
    }

    private func render(_ request: Request, context: AuthenticatedContext, created: Created?,
                        typed: FormFields? = nil, error: APIError? = nil) async throws -> Response {
        let page = try await services.database.listEnrollmentTokens(page: try PageCursor.page(from: request))
        let now = Date()
        let rows = page.items.map { token in
            let state = token.usedAt != nil ? "used" : (token.expiresAt <= now ? "expired" : "open")
            return Row(id: token.id.rawValue, note: token.note, createdBy: token.createdBy,
                       createdAt: WebFormat.timestamp(token.createdAt), expiresAt: WebFormat.relative(token.expiresAt, now: now),
                       state: state, usedByHostID: token.usedByHostId?.rawValue, open: state == "open")
        }
        let hosts = try await services.database.activeHosts().map { HostChoice(id: $0.id.rawValue, name: $0.name) }
        let model = Model(
            created: created, rows: rows, hasRows: !rows.isEmpty, hosts: hosts, hasHosts: !hosts.isEmpty,
            nextPage: PageLink.next("/enrollment", cursor: page.nextCursor, request: request),
            defaultHours: typed?.text("expires_in_hours")
                ?? String(services.settings.enrollmentTokenLifetime.components.seconds / 3600),
            typedNote: typed?.text("note") ?? "", formError: error.map { "No token was created: \($0.message)" })
        return try await responder.page("enrollment", title: "Enroll a host", section: "enrollment", page: model,
                              request: request, context: context,
                              status: error?.status ?? (created == nil ? .ok : .created))
    }
}
