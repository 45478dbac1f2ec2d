import Foundation
import Hummingbird
import NIOCore
import ResticManagerCore

/// The audit log, liveness, metrics and the OpenAPI document.
struct SystemController {
    let services: ServerServices

    struct AuditResponse: Encodable, Sendable {
        /// A string like every other id in the API (SPEC §7.1).
        let id: String
        let ts: Date
        let actor: String
        let action: String
        let targetType: String
        let targetId: String
        let details: JSONValue
        let ip: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/audit", catalog: catalog, summary: "Every change, login, enrollment and dispatch",
                    access: .admin, query: QueryParameter.page, use: audit)
    }

    func addPublicRoutes(to router: some RouterMethods<AppRequestContext>, catalog: RouteCatalog) {
        router.route(.get, "/healthz", catalog: catalog, prefix: "", summary: "Liveness", access: .anyone, use: healthz)
        router.route(.get, "/metrics", catalog: catalog, prefix: "",
                     summary: "Prometheus metrics (a viewer's credentials unless served publicly)",
                     access: services.settings.metricsPublic ? .anyone : .viewer, use: metrics)
    }

    /// Registers the OpenAPI document. Call it last: the document is
    /// rendered once, from every route recorded so far and itself.
    func addOpenAPIRoute(to router: some RouterMethods<AppRequestContext>, catalog: RouteCatalog) {
        let path = "/api/v1/openapi.json"
        catalog.record(DocumentedRoute(method: .get, path: path, summary: "This document", access: .anyone,
                                       successStatus: 200, body: nil))
        let document = ByteBuffer(data: catalog.openAPIDocument(version: serverVersion))
        router.get(RouterPath(path)) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: document))
        }
    }

    @Sendable func audit(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<AuditResponse> {
        let page = try await services.database.auditLog(page: try PageCursor.page(from: request))
        return ListResponse(page) {
            AuditResponse(
                id: String($0.id ?? 0), ts: $0.ts, actor: $0.actor, action: $0.action, targetType: $0.targetType,
                targetId: $0.targetId,
                details: (try? JSONDecoder().decode(JSONValue.self, from: Data($0.details.utf8))) ?? .object([:]),
                ip: $0.ip)
        }
    }

    @Sendable func healthz(_ request: Request, context: AppRequestContext) async throws -> Response {
        do {
            _ = try await services.database.userCount()
        } catch {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "database unavailable\n")))
        }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        let text = try await services.metrics.render(database: services.database, hub: services.hub)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
