import Foundation
import HTTPTypes
import Hummingbird

/// Who may call a route, as written in the OpenAPI document.
enum Access: String, Sendable {
    case anyone, user, viewer, `operator`, admin
    case enrollmentToken = "enrollment token"
    case agentToken = "agent token"
}

extension Access {
    /// The least role a signed-in caller needs; nil when no user is needed.
    var minimumRole: Role? {
        switch self {
        case .user, .viewer: .viewer
        case .operator: .operator
        case .admin: .admin
        case .anyone, .enrollmentToken, .agentToken: nil
        }
    }
}

/// A request context that can check a route's declared access. Routes are
/// registered with their access and checked there, once: the OpenAPI
/// document, the page routes and the behaviour read the same value.
protocol AccessEnforcing: RequestContext {
    func enforce(_ access: Access) throws
}

/// One route as documented in `/api/v1/openapi.json`.
struct DocumentedRoute: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let summary: String
    let access: Access
    let successStatus: Int
    /// The JSON body the route reads; nil when it reads none.
    let body: BodySchema?
    /// Error statuses beyond those every route of its kind has (see
    /// ``RouteCatalog/responses(_:)``), e.g. 409 for a conflict.
    var errors: [HTTPResponse.Status] = []
    /// The query parameters it reads.
    var query: [QueryParameter] = []

    var hasBody: Bool { body != nil }
}

/// Registers routes and records each one, so the OpenAPI document is built
/// from the very list the router serves and cannot drift from it.
final class RouteCatalog {
    private(set) var routes: [DocumentedRoute] = []

    func record(_ route: DocumentedRoute) { routes.append(route) }

    /// The OpenAPI 3.1 document of every recorded route.
    func openAPIDocument(version: String) -> Data {
        var paths: [String: [String: Any]] = [:]
        for route in routes {
            var operation: [String: Any] = [
                "summary": route.summary,
                "operationId": Self.operationID(route),
                "x-access": route.access.rawValue,
                "responses": Self.responses(route),
            ]
            let parameters = Self.pathParameters(route.path).map { name -> [String: Any] in
                ["name": name, "in": "path", "required": true, "schema": ["type": "string"]]
            } + route.query.map(\.openAPI)
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if let body = route.body {
                operation["requestBody"] = [
                    "required": true,
                    "content": ["application/json": ["schema": body.jsonSchema]],
                ]
            }
            switch route.access {
            case .anyone: operation["security"] = [[String: [String]]]()
            case .enrollmentToken, .agentToken: operation["security"] = [["bearerAuth": [String]()]]
            default: operation["security"] = [["sessionCookie": [String]()], ["bearerAuth": [String]()]]
            }
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "restic-manager API", "version": version],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearerAuth": ["type": "http", "scheme": "bearer"],
                    "sessionCookie": ["type": "apiKey", "in": "cookie", "name": "rm_session"],
                ],
                "schemas": [
                    "Error": [
                        "type": "object",
                        "properties": [
                            "error": [
                                "type": "object",
                                "properties": [
                                    "code": ["type": "string"], "message": ["type": "string"],
                                    "fields": ["type": "object", "additionalProperties": ["type": "string"]],
                                ],
                                "required": ["code", "message"],
                            ]
                        ],
                    ]
                ],
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
    }

    private static func responses(_ route: DocumentedRoute) -> [String: Any] {
        let error: [String: Any] = [
            "description": "error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
        ]
        var responses: [String: Any] = ["\(route.successStatus)": ["description": "success"]]
        // A body is refused as malformed (400), too large (413) or not JSON (415).
        if route.hasBody { responses["400"] = error; responses["413"] = error; responses["415"] = error }
        if !route.query.isEmpty { responses["400"] = error }
        if route.access != .anyone { responses["401"] = error }
        if [.viewer, .operator, .admin].contains(route.access) { responses["403"] = error }
        if !pathParameters(route.path).isEmpty { responses["404"] = error }
        for status in route.errors { responses["\(status.code)"] = error }
        return responses
    }

    static func pathParameters(_ path: String) -> [String] {
        path.split(separator: "/").compactMap { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : nil
        }
    }

    private static func operationID(_ route: DocumentedRoute) -> String {
        // Drop the `/api/v1` prefix only: `/healthz` and `/metrics` keep
        // their names, so every operationId stays unique.
        let parts = route.path.split(separator: "/")
        let words = (parts.starts(with: ["api", "v1"]) ? parts.dropFirst(2) : parts[...]).map {
            $0.replacingOccurrences(of: "{", with: "by_").replacingOccurrences(of: "}", with: "")
        }
        return ([route.method.rawValue.lowercased()] + words).joined(separator: "_")
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
    }
}

extension RouterMethods where Context: AccessEnforcing {
    /// Adds a route and records it in `catalog`.
    @discardableResult
    func route<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method, _ path: String, catalog: RouteCatalog, prefix: String = "/api/v1",
        summary: String, access: Access, status: HTTPResponse.Status = .ok, body: BodySchema? = nil,
        errors: [HTTPResponse.Status] = [], query: [QueryParameter] = [],
        use handler: @escaping @Sendable (Request, Context) async throws -> Output
    ) -> Self {
        catalog.record(
            DocumentedRoute(method: method, path: prefix + path, summary: summary, access: access,
                            successStatus: status.code, body: body, errors: errors, query: query))
        return on(path, method: method, access: access, use: handler)
    }

    /// Adds a route that answers only callers with `access`: 401 without
    /// credentials, 403 below the role.
    @discardableResult
    func on<Output: ResponseGenerator>(
        _ path: String, method: HTTPRequest.Method, access: Access,
        use handler: @escaping @Sendable (Request, Context) async throws -> Output
    ) -> Self {
        on(RouterPath(path), method: method) { request, context in
            try context.enforce(access)
            return try await handler(request, context)
        }
    }
}
