import Foundation
import Hummingbird
import ResticManagerProtocol

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
        /// A refused "add user" form: the name typed and why (never the password).
        let newUsername: String
        let formError: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/users", method: .get, access: .admin, use: show)
        group.on("/users", method: .post, access: .admin, use: create)
        group.on("/users/{id}", method: .post, access: .admin, use: update)
        group.on("/users/{id}/delete", method: .post, access: .admin, use: delete)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, typed: nil, error: nil)
    }

    private func render(_ request: Request, context: AuthenticatedContext, typed: FormFields?, error: APIError?)
        async throws -> Response
    {
        let page = try await services.database.listUsers(page: try PageCursor.page(from: request))
        let now = Date()
        let rows = page.items.map { user in
            Row(id: user.id.rawValue, username: user.username,
                roles: Self.roleOptions(selected: user.role), disabled: user.disabled,
                isSelf: user.id == context.user.id, createdAt: WebFormat.timestamp(user.createdAt),
                lastLogin: WebFormat.relative(user.lastLoginAt, now: now))
        }
        let model = Model(
            rows: rows, roles: Self.roleOptions(selected: typed.flatMap { Role(rawValue: $0.text("role")) } ?? .viewer),
            nextPage: PageLink.next("/users", cursor: page.nextCursor, request: request),
            newUsername: typed?.text("username") ?? "", formError: error.map { "The user was not added: \($0.message)" })
        return try await responder.page("users", title: "Users", section: "users", page: model, request: request, context: context,
                              status: error?.status ?? .ok)
    }

    static func roleOptions(selected: Role) -> [Choice] {
        [Role.viewer, .operator, .admin].map { Choice(value: $0.rawValue, selected: $0 == selected) }
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let body = UserController.CreateRequest(
            username: form.text("username"), password: form["password"] ?? "", role: form.text("role"))
        let user: UserRecord
        do {
            user = try await UserController(services: services).create(body, context: context)
        } catch {
            guard let error = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await render(request, context: context, typed: form, error: error)
        }
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
