import Foundation
import HTTPTypes
import Hummingbird
import ResticManagerCrypto

/// Resolves the session cookie or bearer token of a request into a
/// `Principal`, and enforces the CSRF token on cookie-authenticated unsafe
/// requests (SPEC §7.1). Routes that need a user get `AuthenticatedContext`,
/// which refuses requests without one.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let database: AppDatabase

    static let sessionCookie = "rm_session"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    /// Paths that take no session, so a stale cookie must not block them.
    static let csrfExempt: Set<String> = ["/api/v1/auth/login", "/api/v1/agents/enroll"]

    func handle(
        _ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let bearer = request.headers.bearerToken {
            // A bearer that is not a valid API token (an agent's, say) is no
            // user: routes that need one answer 401, public ones still work.
            if Tokens.kind(of: bearer) == .api, let user = try await database.userForAPIToken(tokenHash: Tokens.hash(bearer)) {
                context.principal = Principal(user: user, credential: .apiToken)
            }
        } else if let token = request.cookies[Self.sessionCookie]?.value, Tokens.kind(of: token) == .session {
            let hash = Tokens.hash(token)
            if let user = try await database.userForSession(tokenHash: hash) {
                // Page forms carry the token as a form field instead;
                // WebPageMiddleware checks it for every page route. The path
                // is compared as the router reads it: `//api/…` is the API too.
                let path = Self.routedPath(request.uri.path)
                if request.method.isUnsafe, Self.isAPI(path), !Self.csrfExempt.contains(path) {
                    let sent = request.headers[Self.csrfHeader] ?? ""
                    guard Tokens.constantTimeEquals(sent, Self.csrfToken(forSession: token)) else {
                        throw APIError.forbidden("missing or wrong X-CSRF-Token header; use the csrf_token from login")
                    }
                }
                context.principal = Principal(user: user, credential: .session(tokenHash: hash))
            }
        }
        return try await next(request, context)
    }

    /// A path as the router matches it: empty segments dropped.
    static func routedPath(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }

    static func isAPI(_ routedPath: String) -> Bool {
        routedPath == "/api" || routedPath.hasPrefix("/api/")
    }

    /// The CSRF token is derived from the session token, so nothing extra is
    /// stored and a database copy reveals neither.
    static func csrfToken(forSession token: String) -> String {
        Tokens.hash("csrf:" + token)
    }
}

extension HTTPRequest.Method {
    var isUnsafe: Bool { ![.get, .head, .options].contains(self) }
}

extension HTTPFields {
    /// The token of an `Authorization: Bearer …` header.
    var bearerToken: String? {
        guard let value = self[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty || token.count > 256 ? nil : token
    }
}
