import Foundation
import Hummingbird

struct UserResponse: ResponseEncodable, Sendable {
    let id: String
    let username: String
    let role: Role
    let disabled: Bool
    let createdAt: Date
    @ExplicitNull var lastLoginAt: Date?

    init(_ user: UserRecord) {
        id = user.id.rawValue
        username = user.username
        role = user.role
        disabled = user.disabled
        createdAt = user.createdAt
        lastLoginAt = user.lastLoginAt
    }
}

/// Users, admin only (SPEC §7).
struct UserController {
    let services: ServerServices

    struct CreateRequest: Decodable {
        let username: String
        let password: String
        let role: String

        static let schema = BodySchema(
            required: ["username": .string, "password": .string, "role": .choice(Role.allCases.map(\.rawValue))])
    }

    struct UpdateRequest: Decodable {
        let role: String?
        let disabled: Bool?
        let password: String?

        static let schema = BodySchema(
            optional: ["role": .choice(Role.allCases.map(\.rawValue)), "disabled": .boolean, "password": .string])
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/users", catalog: catalog, summary: "List users", access: .admin,
                    query: QueryParameter.page, use: list)
        group.route(.post, "/users", catalog: catalog, summary: "Create a user", access: .admin, status: .created,
                    body: CreateRequest.schema, errors: [.conflict], use: create)
        group.route(.patch, "/users/{id}", catalog: catalog, summary: "Change a user's role, password or disabled flag",
                    access: .admin, body: UpdateRequest.schema, errors: [.conflict], use: update)
        group.route(.delete, "/users/{id}", catalog: catalog, summary: "Delete a user", access: .admin,
                    status: .noContent, errors: [.conflict], use: delete)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<UserResponse> {
        let page = try PageCursor.page(from: request)
        return ListResponse(try await services.database.listUsers(page: page), map: UserResponse.init)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> EditedResponse<UserResponse> {
        let body = try await request.decode(as: CreateRequest.self, context: context)
        return EditedResponse(status: .created, response: UserResponse(try await create(body, context: context)))
    }

    /// Adds a user with a checked name, role and password.
    func create(_ body: CreateRequest, context: AuthenticatedContext) async throws -> UserRecord {
        let username = try Validate.username(body.username)
        let role = try Validate.role(body.role)
        let password = try Validate.password(body.password)
        let hash = try await services.passwords.hash(password)
        return try await services.database.createUser(
            username: username, passwordHash: hash, role: role, by: context.auditActor)
    }

    @Sendable func update(_ request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        let body = try await request.decode(as: UpdateRequest.self, context: context)
        return UserResponse(try await update(body, context: context))
    }

    /// Changes the request's user: role, disabled flag or password.
    func update(_ body: UpdateRequest, context: AuthenticatedContext) async throws -> UserRecord {
        let id = try context.parameters.require("id")
        let role = try body.role.map { try Validate.role($0) }
        let hash = try await body.password.map { try Validate.password($0) }.asyncMap { try await services.passwords.hash($0) }
        return try await services.database.updateUser(
            id: UserID(id), role: role, disabled: body.disabled, passwordHash: hash, by: context.auditActor)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await delete(context: context)
        return Response(status: .noContent)
    }

    /// Deletes the request's user; nobody can delete themselves.
    func delete(context: AuthenticatedContext) async throws {
        let id = try context.parameters.require("id")
        if id == context.user.id.rawValue { throw APIError.conflict("you cannot delete yourself; ask another admin") }
        try await services.database.deleteUser(id: UserID(id), by: context.auditActor)
    }
}
