import Foundation
import Hummingbird

/// The alerts of the fleet (SPEC §9): open ones first, then the recently
/// resolved, each list paged on its own, filtered by rule and host through
/// bookmarkable query parameters. Operators acknowledge from here and from
/// the host page.
struct AlertsPage {
    let services: ServerServices
    let responder: WebResponder

    /// The cursor parameters of the two lists.
    static let openCursor = "open_cursor"
    static let resolvedCursor = "cursor"

    struct HostChoice {
        let id: String
        let name: String
        let selected: Bool
    }

    struct Model {
        let rules: [Choice]
        let hosts: [HostChoice]
        let hostID: String
        let hostName: String?
        let isFiltered: Bool
        let open: AlertTable
        let openCount: String
        let openNext: String?
        let openIsFirst: Bool
        let resolved: AlertTable
        let resolvedNext: String?
        let resolvedIsFirst: Bool
        let firstPages: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/alerts", method: .get, access: .viewer, use: show)
        group.on("/alerts/{id}/acknowledge", method: .post, access: .operator, use: acknowledge)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        // The filters are the API's; `state` is the page's own business.
        var filter = try AlertController.filter(from: request)
        filter.state = nil
        let openPage = try PageCursor.page(from: request, cursorParameter: Self.openCursor)
        let resolvedPage = try PageCursor.page(from: request, cursorParameter: Self.resolvedCursor)
        var openFilter = filter
        openFilter.state = .open
        var resolvedFilter = filter
        resolvedFilter.state = .resolved
        let open = try await services.database.alerts(filter: openFilter, page: openPage)
        let resolved = try await services.database.alerts(filter: resolvedFilter, page: resolvedPage)
        let hosts = try await services.database.activeHosts()
        let now = Date()
        let mayAcknowledge = context.user.role >= .operator
        let query = Self.query(request)
        let filters = Self.filters(filter)
        let here = Self.link(filters + query)
        let model = Model(
            rules: AlertRule.allCases.map { Choice(value: $0.rawValue, selected: $0 == filter.rule) },
            hosts: hosts.map { HostChoice(id: $0.id.rawValue, name: $0.name, selected: $0.id == filter.hostID) }
                .sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending },
            hostID: filter.hostID?.rawValue ?? "",
            hostName: filter.hostID.map { id in hosts.first { $0.id == id }?.name ?? "deleted host" },
            isFiltered: filter.rule != nil || filter.hostID != nil,
            open: AlertTable(rows: open.items.map { AlertRow($0, mayAcknowledge: mayAcknowledge, now: now) },
                             returnTo: here, showHost: true),
            openCount: String(open.items.count) + (open.nextCursor == nil && openPage.beforeRowID == nil ? "" : "+"),
            openNext: open.nextCursor.map {
                Self.link(filters + [(Self.openCursor, PageCursor.encode($0))]
                    + query.filter { $0.name == Self.resolvedCursor || $0.name == "limit" })
            },
            openIsFirst: openPage.beforeRowID == nil,
            resolved: AlertTable(rows: resolved.items.map { AlertRow($0, mayAcknowledge: false, now: now) },
                                 returnTo: here, showHost: true),
            resolvedNext: resolved.nextCursor.map {
                Self.link(filters + [(Self.resolvedCursor, PageCursor.encode($0))]
                    + query.filter { $0.name == Self.openCursor || $0.name == "limit" })
            },
            resolvedIsFirst: resolvedPage.beforeRowID == nil,
            firstPages: Self.link(filters))
        return try await responder.page("alerts", title: "Alerts", section: "alerts", page: model, request: request,
                                        context: context)
    }

    @Sendable func acknowledge(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let form = try await FormFields.of(request)
        let alert = try await AlertController(services: services).acknowledge(context: context)
        return WebResponse.redirect(
            to: Self.returnPath(form["return_to"]),
            flash: "Acknowledged \(alert.rule.rawValue) on \(alert.hostName): no more repeats. "
                + "It stays open until its condition clears.")
    }

    /// Where a form sends the browser back to: a local path, else the alerts page.
    static func returnPath(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "/alerts" }
        let path = LoginPage.safeNext(text)
        return path == "/" && text != "/" ? "/alerts" : path
    }

    /// The filter parameters, as the form and the links carry them.
    static func filters(_ filter: AlertFilter) -> [(name: String, value: String)] {
        [("rule", filter.rule?.rawValue ?? ""), ("host_id", filter.hostID?.rawValue ?? "")]
    }

    /// The paging parameters of the request as they came.
    static func query(_ request: Request) -> [(name: String, value: String)] {
        [openCursor, resolvedCursor, "limit"].compactMap { name in
            request.uri.queryParameters[Substring(name)].map { (name, String($0)) }
        }
    }

    /// `/alerts?…` with the non-empty parameters, in the order given.
    static func link(_ parameters: [(name: String, value: String)]) -> String {
        PageLink.to("/alerts", query: parameters.filter { !$0.value.isEmpty })
    }
}
