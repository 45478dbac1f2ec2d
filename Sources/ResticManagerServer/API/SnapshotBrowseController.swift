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

    /// What a browse asks for: `path` (`/` when absent) and `via`, read as
    /// a form encodes them (`+` is a space), as the browser page's links send them.
    struct Query {
        var path = "/"
        /// Another host to list the snapshot through (its own host is offline).
        var via: HostID?
    }

    static func query(_ request: Request) throws -> Query {
        guard let text = request.uri.query, !text.isEmpty else { return Query() }
        let values: [String: String]
        do {
            values = try URLEncodedFormDecoder().decode([String: String].self, from: text)
        } catch {
            throw APIError.validation("path", "could not be read; send each parameter once, percent-encoded")
        }
        return Query(path: values["path"] ?? "/", via: values["via"].flatMap { $0.isEmpty ? nil : HostID($0) })
    }

    /// The folder's listing, or the API error that says why there is none:
    /// 404 for a snapshot the host does not have or a path that is not a
    /// folder in it, 409 while the host is offline, 504 when the agent does
    /// not answer in time, 502 with the agent's own error otherwise.
    ///
    /// With `via`, another host's agent lists it from this host's repository
    /// (an admin action: the repository's secrets go to that agent), so the
    /// snapshots of a host that is gone can still be browsed.
    func list(
        host: HostRecord, snapshotID: String, path rawPath: String, via: HostID? = nil, context: AuthenticatedContext
    ) async throws -> SnapshotLsResult {
        if let reason = RestoreArguments.absolutePathProblem(rawPath) { throw APIError.validation("path", reason) }
        guard let snapshot = try await services.database.snapshot(hostID: host.id, matching: snapshotID) else {
            throw APIError.notFound("snapshot")
        }
        var lister = host.id
        var source: RepositorySource?
        if let via, via != host.id {
            try context.require(.admin)
            guard try await services.database.host(id: via) != nil else { throw APIError.notFound("via host") }
            lister = via
            source = try await services.hub.repositorySource(of: host.id)
        }
        guard await services.hub.isConnected(lister) else {
            throw APIError.conflict(lister == host.id
                ? "the host is offline; browsing a snapshot needs its agent connected (admins can browse through another host with via=)"
                : "the via host is offline; choose a host whose agent is connected")
        }
        let request = SnapshotLsRequest(
            requestID: UUID().uuidString.lowercased(), snapshotID: snapshot.snapshotId,
            path: RestoreArguments.normalizedFolder(rawPath), source: source)
        let result: SnapshotLsResult
        do {
            result = try await services.browse.ask(request, of: lister, timeout: services.settings.browseTimeout)
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
                    summary: "One folder of a snapshot (path=, default /), listed by the host's agent or (admin) via= another host's",
                    access: .viewer, errors: [.conflict, .badGateway, .serviceUnavailable, .gatewayTimeout],
                    query: [QueryParameter(name: "path", kind: .string), QueryParameter(name: "via", kind: .string)],
                    use: list)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> SnapshotFolderResponse {
        let id = try context.parameters.require("id")
        guard let host = try await services.database.host(id: HostID(id)) else { throw APIError.notFound("host") }
        let snapshotID = try context.parameters.require("snapshot_id")
        let query = try SnapshotBrowsing.query(request)
        return SnapshotFolderResponse(
            try await SnapshotBrowsing(services: services).list(
                host: host, snapshotID: snapshotID, path: query.path, via: query.via, context: context))
    }
}
