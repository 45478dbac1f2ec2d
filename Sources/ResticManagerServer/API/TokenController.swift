import Foundation
import Hummingbird
import ResticManagerCrypto

/// A user's own API tokens; each value is shown once, at creation.
struct APITokenController {
    let services: ServerServices

    struct CreateRequest: Decodable {
        let name: String
        let expiresAt: Date?

        static let schema = BodySchema(required: ["name": .string], optional: ["expires_at": .string])
    }

    struct Created: ResponseEncodable, Sendable {
        let id: String
        let name: String
        let token: String
        let createdAt: Date
        @ExplicitNull var expiresAt: Date?
    }

    struct Listed: ResponseEncodable, Sendable {
        let id: String
        let name: String
        let createdAt: Date
        @ExplicitNull var lastUsedAt: Date?
        @ExplicitNull var expiresAt: Date?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/api-tokens", catalog: catalog, summary: "List your API tokens", access: .user,
                    query: QueryParameter.page, use: list)
        group.route(.post, "/api-tokens", catalog: catalog, summary: "Create an API token (value shown once)",
                    access: .user, status: .created, body: CreateRequest.schema, use: create)
        group.route(.delete, "/api-tokens/{id}", catalog: catalog, summary: "Revoke one of your API tokens",
                    access: .user, status: .noContent, use: delete)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<Listed> {
        let page = try PageCursor.page(from: request)
        return ListResponse(try await services.database.listAPITokens(userID: context.user.id, page: page)) {
            Listed(id: $0.id.rawValue, name: $0.name, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt,
                   expiresAt: $0.expiresAt)
        }
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> EditedResponse<Created> {
        let body = try await request.decode(as: CreateRequest.self, context: context)
        return EditedResponse(status: .created, response: try await create(body, context: context))
    }

    /// Issues an API token for the signed-in user; the value is in the answer only.
    func create(_ body: CreateRequest, context: AuthenticatedContext) async throws -> Created {
        let name = try Validate.name(body.name, field: "name")
        if let expiresAt = body.expiresAt, expiresAt <= Date() {
            throw APIError.validation("expires_at", "must be in the future")
        }
        let token = Tokens.issue(.api)
        let record = try await services.database.createAPIToken(
            userID: context.user.id, name: name, tokenHash: token.hash, expiresAt: body.expiresAt, by: context.auditActor)
        return Created(id: record.id.rawValue, name: name, token: token.plaintext, createdAt: record.createdAt,
                       expiresAt: record.expiresAt)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await delete(context: context)
        return Response(status: .noContent)
    }

    /// Revokes one of the signed-in user's own tokens.
    func delete(context: AuthenticatedContext) async throws {
        let id = try context.parameters.require("id")
        try await services.database.deleteAPIToken(id: APITokenID(id), userID: context.user.id, by: context.auditActor)
    }
}

/// Enrollment tokens (admin) and the enrollment exchange itself (SPEC §4).
struct EnrollmentController {
    let services: ServerServices

    struct CreateRequest: Decodable {
        let note: String?
        let expiresInHours: Int?
        let replaceHostId: String?

        static let schema = BodySchema(
            optional: ["note": .string, "expires_in_hours": .integer, "replace_host_id": .string])
    }

    struct Created: ResponseEncodable, Sendable {
        let id: String
        let token: String
        let expiresAt: Date
        let installCommand: String
    }

    struct Listed: ResponseEncodable, Sendable {
        let id: String
        let note: String
        let createdBy: String
        let createdAt: Date
        let expiresAt: Date
        @ExplicitNull var usedAt: Date?
        @ExplicitNull var usedByHostId: String?
        @ExplicitNull var replaceHostId: String?
    }

    struct EnrollRequest: Decodable {
        let token: String
        let hostname: String
        let os: String
        let arch: String
        let name: String?

        static let schema = BodySchema(
            required: ["token": .string, "hostname": .string, "os": .string, "arch": .string],
            optional: ["name": .string])
    }

    struct Enrolled: ResponseEncodable, Sendable {
        let hostId: String
        let agentToken: String
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>, catalog: RouteCatalog) {
        group.route(.post, "/agents/enroll", catalog: catalog, summary: "Exchange an enrollment token for an agent token",
                    access: .enrollmentToken, status: .created, body: EnrollRequest.schema, use: enroll)
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/enrollment-tokens", catalog: catalog, summary: "List enrollment tokens", access: .admin,
                    query: QueryParameter.page, use: list)
        group.route(.post, "/enrollment-tokens", catalog: catalog,
                    summary: "Create an enrollment token (value and install command shown once)", access: .admin,
                    status: .created, body: CreateRequest.schema, use: create)
        group.route(.delete, "/enrollment-tokens/{id}", catalog: catalog, summary: "Delete an enrollment token",
                    access: .admin, status: .noContent, use: delete)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<Listed> {
        let page = try PageCursor.page(from: request)
        return ListResponse(try await services.database.listEnrollmentTokens(page: page)) {
            Listed(id: $0.id.rawValue, note: $0.note, createdBy: $0.createdBy, createdAt: $0.createdAt,
                   expiresAt: $0.expiresAt, usedAt: $0.usedAt, usedByHostId: $0.usedByHostId?.rawValue,
                   replaceHostId: $0.replaceHostId?.rawValue)
        }
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> EditedResponse<Created> {
        let body = try await request.decode(as: CreateRequest.self, context: context)
        return EditedResponse(status: .created, response: try await create(body, request: request, context: context))
    }

    /// Issues an enrollment token with the command that uses it; the value
    /// is in the answer only.
    func create(_ body: CreateRequest, request: Request, context: AuthenticatedContext) async throws -> Created {
        let note = try Validate.text(body.note ?? "", field: "note", maxLength: 256)
        var lifetime = services.settings.enrollmentTokenLifetime
        if let hours = body.expiresInHours {
            guard (1...720).contains(hours) else {
                throw APIError.validation("expires_in_hours", "must be from 1 to 720")
            }
            lifetime = .seconds(hours * 3600)
        }
        let token = Tokens.issue(.enrollment)
        let record = try await services.database.createEnrollmentToken(
            tokenHash: token.hash, note: note, expiresAt: Date().addingTimeInterval(lifetime.timeInterval),
            replaceHostID: body.replaceHostId.map { HostID($0) }, by: context.auditActor)
        // SPEC §13: the one line that installs, enrolls and starts the agent.
        let installer = services.settings.publicBaseURL(for: request) + "/install.sh"
        let command =
            "curl -fsSL \(InstallScript.shellQuoted(installer)) | sudo sh -s -- --token \(token.plaintext)"
        return Created(id: record.id.rawValue, token: token.plaintext, expiresAt: record.expiresAt,
                       installCommand: command)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await delete(context: context)
        return Response(status: .noContent)
    }

    /// Deletes the request's enrollment token, used or not.
    func delete(context: AuthenticatedContext) async throws {
        let id = try context.parameters.require("id")
        try await services.database.deleteEnrollmentToken(id: EnrollmentTokenID(id), by: context.auditActor)
    }

    @Sendable func enroll(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Enrolled> {
        let body = try await request.decode(as: EnrollRequest.self, context: context)
        let hostname = try Validate.name(body.hostname, field: "hostname", maxLength: 253)
        let os = try Validate.name(body.os, field: "os", maxLength: 32)
        let arch = try Validate.name(body.arch, field: "arch", maxLength: 32)
        let name = try body.name.map { try Validate.name($0, field: "name") }
        let invalid = APIError(status: .unauthorized, code: "invalid_enrollment_token",
                               message: "the enrollment token is unknown, used or expired; ask an admin for a new one")
        guard Tokens.kind(of: body.token) == .enrollment else { throw invalid }
        let agentToken = Tokens.issue(.agent)
        guard let host = try await services.database.enroll(
            enrollmentTokenHash: Tokens.hash(body.token), hostname: hostname, os: os, arch: arch, name: name,
            agentTokenHash: agentToken.hash, ip: context.remoteIP)
        else { throw invalid }
        // A replaced host's old agent must not keep its socket.
        await services.hub.disconnect(hostID: host.id, reason: "host re-enrolled")
        return EditedResponse(status: .created, response: Enrolled(hostId: host.id.rawValue, agentToken: agentToken.plaintext))
    }
}
