import Foundation
import Hummingbird

/// The signed-in user as the layout shows them, with the CSRF token every
/// form on the page carries.
struct WebSession: Sendable {
    let username: String
    let role: String
    let isAdmin: Bool
    let isOperator: Bool
    let csrfToken: String

    init(principal: Principal, request: Request) {
        username = principal.user.username
        role = principal.user.role.rawValue
        isAdmin = principal.user.role >= .admin
        isOperator = principal.user.role >= .operator
        csrfToken = request.cookies[AuthenticationMiddleware.sessionCookie]
            .map { AuthenticationMiddleware.csrfToken(forSession: $0.value) } ?? ""
    }
}

/// What every template renders: the layout's parts plus one page's model,
/// opened in the template with `{{#page}}`.
struct PageView<Page> {
    let title: String
    let session: WebSession?
    let page: Page
    let flash: String?
    /// Marks the nav entry of the current section: `{{#nav.jobs}}`.
    var nav: [String: Bool] = [:]
    /// Open alerts, shown next to the nav's Alerts link; nil when there are none.
    var openAlerts: String? = nil

    init(title: String, session: WebSession?, page: Page, flash: String? = nil, section: String = "") {
        self.title = title
        self.session = session
        self.page = page
        self.flash = flash
        nav = [section: true]
    }
}

/// Renders pages for a signed-in request and carries the one-shot flash
/// message of a post/redirect/get round trip.
struct WebResponder: Sendable {
    let templates: WebTemplates
    let database: AppDatabase

    func page(
        _ template: String, title: String, section: String, page: some Any, request: Request,
        context: AuthenticatedContext, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let flash = Flash.read(request)
        var view = PageView(title: title, session: WebSession(principal: context.principal, request: request),
                            page: page, flash: flash, section: section)
        // One count over the partial index of open alerts: cheap enough for every page.
        let open = try await database.openAlertCounts().values.reduce(0, +)
        view.openAlerts = open > 0 ? String(open) : nil
        var response = templates.page(template, view, status: status)
        if flash != nil { Flash.clear(&response) }
        return response
    }
}

enum WebResponse {
    /// 303 to a local path, so the browser follows with a GET.
    static func redirect(to location: String, flash: String? = nil) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        if let flash { Flash.set(&response, flash) }
        return response
    }
}

/// A message shown once on the page a form redirects to ("Schedule saved").
/// It travels in a short-lived cookie rather than the URL, so it cannot be
/// forged by a link and does not stay in the history.
enum Flash {
    static let cookie = "rm_flash"

    static func set(_ response: inout Response, _ message: String) {
        let value = message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        response.setCookie(Cookie(name: cookie, value: value, maxAge: 60, path: "/", httpOnly: true, sameSite: .lax))
    }

    static func read(_ request: Request) -> String? {
        guard let value = request.cookies[cookie]?.value, !value.isEmpty else { return nil }
        return value.removingPercentEncoding.map { String($0.prefix(300)) }
    }

    static func clear(_ response: inout Response) {
        response.setCookie(Cookie(name: cookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .lax))
    }
}
