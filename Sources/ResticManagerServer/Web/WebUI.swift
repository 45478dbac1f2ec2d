import Hummingbird

/// The operator's web UI (SPEC §11): every page and its form actions,
/// behind `WebPageMiddleware`, plus the stylesheet and script.
struct WebUI {
    let services: ServerServices
    let templates: WebTemplates

    func addRoutes(to router: Router<AppRequestContext>) {
        WebAssets().addRoutes(to: router)
        let web = router.group().add(middleware: WebPageMiddleware(templates: templates, logger: services.logger))
        let responder = WebResponder(templates: templates, database: services.database)
        let login = LoginPage(services: services, templates: templates)
        login.addPublicRoutes(to: web)

        let pages = web.group(context: AuthenticatedContext.self)
        login.addRoutes(to: pages)
        DashboardPage(services: services, responder: responder).addRoutes(to: pages)
        HostPage(services: services, responder: responder).addRoutes(to: pages)
        SnapshotPage(services: services, responder: responder).addRoutes(to: pages)
        JobPage(services: services, responder: responder).addRoutes(to: pages)
        SchedulePage(services: services, responder: responder).addRoutes(to: pages)
        EnrollmentPage(services: services, responder: responder).addRoutes(to: pages)
        UsersPage(services: services, responder: responder).addRoutes(to: pages)
        TokensPage(services: services, responder: responder).addRoutes(to: pages)
        AuditPage(services: services, responder: responder).addRoutes(to: pages)
        AlertsPage(services: services, responder: responder).addRoutes(to: pages)
        AlertRulesPage(services: services, responder: responder).addRoutes(to: pages)
        ChannelsPage(services: services, responder: responder).addRoutes(to: pages)
    }
}
