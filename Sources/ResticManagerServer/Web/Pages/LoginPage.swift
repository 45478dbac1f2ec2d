import Foundation
import Hummingbird
import ResticManagerCrypto

/// Sign in and out. Signing in goes through `AuthController.signIn`, so the
/// page and the API share throttling, timing and auditing.
struct LoginPage {
    let services: ServerServices
    let templates: WebTemplates

    /// Double-submit cookie for the login form, which has no session yet.
    static let csrfCookie = "rm_login_csrf"

    struct Model {
        let csrfToken: String
        let next: String
        let username: String
        let error: String?
        /// After a failed attempt the name is kept, so the password is what to type.
        let focusPassword: Bool
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("/login", use: show)
        group.post("/login", use: signIn)
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post("/logout", use: signOut)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        if context.principal != nil { return WebResponse.redirect(to: next) }
        return render(request, next: next, username: "", error: nil, status: .ok)
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let next = Self.safeNext(form["next"])
        let username = form.text("username")
        do {
            let session = try await AuthController(services: services).signIn(
                username: username, password: form["password"] ?? "", userAgent: request.headers[.userAgent] ?? "",
                ip: context.remoteIP)
            var response = WebResponse.redirect(to: next)
            response.setCookie(AuthController(services: services).sessionCookie(session.token, for: request))
            response.setCookie(Cookie(name: Self.csrfCookie, value: "", maxAge: 0, path: "/login", httpOnly: true,
                                      sameSite: .strict))
            return response
        } catch let error as APIError where [.unauthorized, .tooManyRequests].contains(error.status) {
            let message = error.status == .unauthorized
                ? "Wrong username or password. Check both and try again."
                : "Too many failed sign-ins. " + error.message.prefix(1).uppercased() + error.message.dropFirst() + "."
            return render(request, next: next, username: username, error: message, status: error.status)
        }
    }

    @Sendable func signOut(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let auth = AuthController(services: services)
        try await auth.signOut(context)
        var response = WebResponse.redirect(to: "/login")
        response.setCookie(auth.sessionCookie("", for: request))
        return response
    }

    private func render(_ request: Request, next: String, username: String, error: String?,
                        status: HTTPResponse.Status) -> Response {
        // Reuse the browser's login token so two open tabs both work.
        let token = request.cookies[Self.csrfCookie]?.value.nilIfEmpty ?? Tokens.randomValue()
        let model = Model(csrfToken: token, next: next, username: username, error: error,
                          focusPassword: !username.isEmpty)
        var response = templates.page("login", PageView(title: "Sign in", session: nil, page: model), status: status)
        response.setCookie(Cookie(name: Self.csrfCookie, value: token, maxAge: 3600, path: "/login",
                                  secure: AuthController(services: services).cookiesAreSecure(for: request),
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    /// Only a path on this server: `//evil.example` or `https://…` would
    /// turn the login form into an open redirect. Browsers drop tabs and
    /// newlines from URLs and read `\` as `/`, so `/\t/evil.example` is
    /// `//evil.example` to them: no whitespace, control character or
    /// backslash gets through.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.count <= 2048,
            !next.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\\"
                || $0.properties.isWhitespace || $0.properties.generalCategory == .control }),
            !next.hasPrefix("/login")
        else { return "/" }
        return next
    }

    static func encodeNext(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2F"
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
