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

        static let schema = BodySchema(required: ["username": .string, "password": .string])
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>, catalog: RouteCatalog) {
        group.route(.post, "/auth/login", catalog: catalog, summary: "Sign in; sets the rm_session cookie",
                    access: .anyone, body: LoginRequest.schema, errors: [.unauthorized, .tooManyRequests],
                    use: login)
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.post, "/auth/logout", catalog: catalog, summary: "Sign out", access: .user, status: .noContent,
                    use: logout)
        group.route(.get, "/auth/me", catalog: catalog, summary: "The signed-in user", access: .user, use: me)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        let session = try await signIn(
            username: body.username, password: body.password, userAgent: request.headers[.userAgent] ?? "",
            ip: context.remoteIP)
        let answer = SessionResponse(
            user: UserSummary(session.user),
            csrfToken: AuthenticationMiddleware.csrfToken(forSession: session.token))
        var response = try answer.response(from: request, context: context)
        response.setCookie(sessionCookie(session.token, for: request))
        return response
    }

    /// Checks a username and password (throttled, and as slow for unknown
    /// users as for known ones) and opens a session. The API and the login
    /// page both sign in through here.
    func signIn(username rawUsername: String, password: String, userAgent: String, ip: String) async throws
        -> (user: UserRecord, token: String)
    {
        let username = String(rawUsername.prefix(128))
        let who = AuditActor(actor: "user:\(username)", ip: ip)
        if case .retryAfter(let wait) = try await services.loginThrottle.admit(username: username, ip: ip) {
            throw APIError.tooManyRequests(retryAfter: wait)
        }
        // Over-long passwords are never valid, but cost the same as a wrong one.
        let candidate = password.utf8.count <= PasswordService.maximumLength ? password : nil
        let user = try await services.database.user(username: username)
        var verification = PasswordVerification.invalid
        if let user, let candidate {
            verification = try await services.passwords.verify(candidate, against: user.passwordHash)
        } else {
            // Same work for unknown users, so timing does not reveal which names exist.
            try await services.passwords.verifyDummy(String(password.prefix(PasswordService.maximumLength)))
        }
        guard let user, !user.disabled, case .valid(let needsRehash) = verification else {
            let overBudget = try await services.loginThrottle.recordFailure(username: username, ip: ip)
            try await services.database.recordFailedLogin(username: username, by: who)
            // Past the IP's budget a wrong password is answered 429; a right
            // one (of anyone behind the same address) still gets in.
            if let wait = overBudget { throw APIError.tooManyRequests(retryAfter: wait) }
            throw APIError(status: .unauthorized, code: "invalid_credentials", message: "wrong username or password")
        }
        try await services.loginThrottle.recordSuccess(username: username, ip: ip)
        let rehashed = needsRehash ? try await services.passwords.hash(password) : nil
        try await services.database.recordLogin(userID: user.id, rehashedPassword: rehashed, by: who)

        let token = Tokens.issue(.session)
        try await services.database.createSession(
            userID: user.id, tokenHash: token.hash, lifetime: services.settings.sessionLifetime,
            userAgent: userAgent, ip: ip)
        return (user, token.plaintext)
    }

    /// The `rm_session` cookie; an empty token with max-age 0 clears it.
    func sessionCookie(_ token: String, for request: Request) -> Cookie {
        Cookie(
            name: AuthenticationMiddleware.sessionCookie, value: token,
            maxAge: token.isEmpty ? 0 : Int(services.settings.sessionLifetime.components.seconds), path: "/",
            secure: cookiesAreSecure(for: request), httpOnly: true, sameSite: .lax)
    }

    /// `Secure` when the browser talks HTTPS: to this server's own TLS, or
    /// to a proxy in front that says so. A client faking the header only
    /// makes its own cookie stricter.
    func cookiesAreSecure(for request: Request) -> Bool {
        services.settings.secureCookies
            || request.headers[.init("X-Forwarded-Proto")!]?.lowercased().hasPrefix("https") == true
    }

    @Sendable func logout(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await signOut(context)
        var response = Response(status: .noContent)
        response.setCookie(sessionCookie("", for: request))
        return response
    }

    /// Ends the session behind a cookie-authenticated request.
    func signOut(_ context: AuthenticatedContext) async throws {
        if case .session(let hash) = context.principal.credential {
            try await services.database.deleteSession(tokenHash: hash, by: context.auditActor)
        }
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
