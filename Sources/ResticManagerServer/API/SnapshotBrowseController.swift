import Foundation
import Hummingbird
import ResticManagerProtocol

/// One folder of a snapshot, as the API and the snapshot browser page show it.
struct SnapshotFolderResponse: ResponseEncodable, Sendable {
    struct Node: Encodable, Sendable {
        let name: String
        let type: String
        let path: String
        let size: Int64
        @ExplicitNull var mtime: Date?
        let mode: Int64
    }

    let path: String
    let nodes: [Node]
    let truncated: Bool

    init(_ result: SnapshotLsResult) {
        path = result.path
        nodes = result.nodes.map {
            Node(name: $0.name, type: $0.type, path: $0.path, size: $0.size, mtime: $0.mtime, mode: $0.mode)
        }
        truncated = result.truncated
    }
}

/// Lists one folder of a host's snapshot through its agent (SPEC §10.1).
struct SnapshotBrowsing {
    let services: ServerServices

    /// The `path` query parameter, `/` when absent. Read as a form encodes
    /// it (`+` is a space), as the browser page's links and forms send it.
    static func requestedPath(_ request: Request) throws -> String {
        guard let query = request.uri.query, !query.isEmpty else { return "/" }
        do {
            return try URLEncodedFormDecoder().decode([String: String].self, from: query)["path"] ?? "/"
        } catch {
            throw APIError.validation("path", "could not be read; send it once, percent-encoded")
        }
    }

    /// The folder's listing, or the API error that says why there is none:
    /// 404 for a snapshot the host does not have or a path that is not a
    /// folder in it, 409 while the host is offline, 504 when the agent does
    /// not answer in time, 502 with the agent's own error otherwise.
    func list(host: HostRecord, snapshotID: String, path rawPath: String) async throws -> SnapshotLsResult {
        if let reason = RestoreArguments.absolutePathProblem(rawPath) { throw APIError.validation("path", reason) }
        guard let snapshot = try await services.database.snapshot(hostID: host.id, matching: snapshotID) else {
            throw APIError.notFound("snapshot")
        }
        guard await services.hub.isConnected(host.id) else {
            throw APIError.conflict("the host is offline; browsing a snapshot needs its agent connected")
        }
        let request = SnapshotLsRequest(
            requestID: UUID().uuidString.lowercased(), snapshotID: snapshot.snapshotId,
            path: RestoreArguments.normalizedFolder(rawPath))
        let result: SnapshotLsResult
        do {
            result = try await services.browse.ask(request, of: host.id, timeout: services.settings.browseTimeout)
        } catch SnapshotBrowseError.offline {
            throw APIError.conflict("the host went offline before it answered; try again when it is back")
        } catch SnapshotBrowseError.timedOut(let limit) {
            throw APIError(
                status: .gatewayTimeout, code: "agent_timeout",
                message: "the agent did not list the folder within \(limit.components.seconds) s; try again")
        }
        guard let error = result.error else { return result }
        switch result.failure {
        case .snapshotNotFound, .pathNotFound, .notADirectory:
            throw APIError(status: .notFound, code: "not_found", message: error)
        case .busy:
            throw APIError(status: .serviceUnavailable, code: "agent_busy", message: error)
        case .failed, nil:
            throw APIError(status: .badGateway, code: "agent_error", message: "the agent could not list it: \(error)")
        }
    }
}

struct SnapshotBrowseController {
    let services: ServerServices

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/hosts/{id}/snapshots/{snapshot_id}/ls", catalog: catalog,
                    summary: "One folder of a snapshot (path=, default /), listed by the host's agent",
                    access: .viewer, errors: [.conflict, .badGateway, .serviceUnavailable, .gatewayTimeout],
                    query: [QueryParameter(name: "path", kind: .string)], use: list)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> SnapshotFolderResponse {
        let id = try context.parameters.require("id")
        guard let host = try await services.database.host(id: HostID(id)) else { throw APIError.notFound("host") }
        let snapshotID = try context.parameters.require("snapshot_id")
        let path = try SnapshotBrowsing.requestedPath(request)
        return SnapshotFolderResponse(
            try await SnapshotBrowsing(services: services).list(host: host, snapshotID: snapshotID, path: path))
    }
}
