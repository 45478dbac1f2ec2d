import Foundation
import HTTPTypes
import Hummingbird
import ResticManagerCrypto

/// `{"id","username","role"}` as login and `me` return it.
struct UserSummary: ResponseEncodable, Sendable {
    let id: String
    let username: String
    let role: Role

    init(_ user: UserRecord) {
        id = user.id.rawValue
        username = user.username
        role = user.role
    }
}

struct SessionResponse: ResponseEncodable, Sendable {
    let user: UserSummary
    let csrfToken: String?
}

/// Login, logout and `me` (SPEC §7).
struct AuthController {
    let services: ServerServices

    struct LoginRequest: Decodable {
        let username: String
        let password: String
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>, catalog: RouteCatalog) {
        group.route(.post, "/auth/login", catalog: catalog, summary: "Sign in; sets the rm_session cookie",
                    access: .anyone, hasBody: true, use: login)
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.post, "/auth/logout", catalog: catalog, summary: "Sign out", access: .user, use: logout)
        group.route(.get, "/auth/me", catalog: catalog, summary: "The signed-in user", access: .user, use: me)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        let username = String(body.username.prefix(128))
        let who = AuditActor(actor: "user:\(username)", ip: context.remoteIP)
        if let wait = await services.loginThrottle.retryAfter(username: username, ip: context.remoteIP) {
            throw APIError.tooManyRequests(retryAfter: wait)
        }
        // Over-long passwords are never valid, but cost the same as a wrong one.
        let password = body.password.utf8.count <= PasswordService.maximumLength ? body.password : nil
        let user = try await services.database.user(username: username)
        var verification = PasswordVerification.invalid
        if let user, let password {
            verification = try await services.passwords.verify(password, against: user.passwordHash)
        } else {
            // Same work for unknown users, so timing does not reveal which names exist.
            try await services.passwords.verifyDummy(String(body.password.prefix(PasswordService.maximumLength)))
        }
        guard let user, !user.disabled, case .valid(let needsRehash) = verification else {
            await services.loginThrottle.recordFailure(username: username, ip: context.remoteIP)
            try await services.database.recordFailedLogin(username: username, by: who)
            throw APIError(status: .unauthorized, code: "invalid_credentials", message: "wrong username or password")
        }
        await services.loginThrottle.recordSuccess(username: username)
        let rehashed = needsRehash ? try await services.passwords.hash(body.password) : nil
        try await services.database.recordLogin(userID: user.id, rehashedPassword: rehashed, by: who)

        let token = Tokens.issue(.session)
        try await services.database.createSession(
            userID: user.id, tokenHash: token.hash, lifetime: services.settings.sessionLifetime,
            userAgent: request.headers[.userAgent] ?? "", ip: context.remoteIP)
        let body2 = SessionResponse(
            user: UserSummary(user), csrfToken: AuthenticationMiddleware.csrfToken(forSession: token.plaintext))
        var response = try body2.response(from: request, context: context)
        let cookie = Cookie(
            name: AuthenticationMiddleware.sessionCookie, value: token.plaintext,
            maxAge: Int(services.settings.sessionLifetime.components.seconds), path: "/",
            secure: services.settings.secureCookies, httpOnly: true, sameSite: .lax)
        response.setCookie(cookie)
        return response
    }

    @Sendable func logout(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        if case .session(let hash) = context.principal.credential {
            try await services.database.deleteSession(tokenHash: hash, by: context.auditActor)
        }
        var response = Response(status: .noContent)
        response.setCookie(
            Cookie(name: AuthenticationMiddleware.sessionCookie, value: "", maxAge: 0, path: "/",
                   secure: services.settings.secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }

    @Sendable func me(_ request: Request, context: AuthenticatedContext) async throws -> SessionResponse {
        let csrf: String? =
            if let token = request.cookies[AuthenticationMiddleware.sessionCookie]?.value,
                case .session = context.principal.credential
            {
                AuthenticationMiddleware.csrfToken(forSession: token)
            } else {
                nil
            }
        return SessionResponse(user: UserSummary(context.user), csrfToken: csrf)
    }
}
