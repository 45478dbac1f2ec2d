import Foundation
import Hummingbird
import ResticManagerProtocol

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
        /// A refused form: what was typed and why.
        let typedName: String
        let typedDays: String
        let formError: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/tokens", method: .get, access: .user, use: show)
        group.on("/tokens", method: .post, access: .user, use: create)
        group.on("/tokens/{id}/delete", method: .post, access: .user, use: delete)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, created: nil)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        do {
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
        } catch {
            guard let error = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await render(request, context: context, created: nil, typed: form, error: error)
        }
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await APITokenController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/tokens", flash: "API token revoked.")
    }

    private func render(_ request: Request, context: AuthenticatedContext, created: APITokenController.Created?,
                        typed: FormFields? = nil, error: APIError? = nil) async throws -> Response
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
                          nextPage: PageLink.next("/tokens", cursor: page.nextCursor, request: request),
                          typedName: typed?.text("name") ?? "", typedDays: typed?.text("expires_in_days") ?? "",
                          formError: error.map { "No token was created: \($0.message)" })
        return try await responder.page("tokens", title: "API tokens", section: "tokens", page: model, request: request,
                              context: context, status: error?.status ?? (created == nil ? .ok : .created))
    }
}
