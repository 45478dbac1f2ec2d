import Foundation
import Hummingbird
import ResticManagerCrypto
import ResticManagerProtocol

struct HostResponse: ResponseEncodable, Sendable {
    struct LastBackup: Encodable, Sendable {
        let jobId: String
        let status: JobStatus
        @ExplicitNull var finishedAt: Date?
    }

    let id: String
    let name: String
    let hostname: String
    let os: String
    let arch: String
    let agentVersion: String
    let resticVersion: String
    let status: String
    @ExplicitNull var lastSeenAt: Date?
    @ExplicitNull var lastBackup: LastBackup?
    let scheduleSync: String
    let desiredScheduleVersion: Int64
    let ackedScheduleVersion: Int64
    let openAlerts: Int
    /// Why the host needs attention, most urgent first (the fleet page's
    /// rules); empty when it is fine.
    let attention: [AttentionReason]
    /// SPEC §13: the server holds a newer agent package for this host.
    let updateAvailable: Bool
    @ExplicitNull var repoSizeBytes: Int64?
    @ExplicitNull var timezone: String?
    let notes: String
    let enrolledAt: Date
    /// The folders the agent lets restores write into; empty: no restore.
    let restoreTargets: [String]
    let hooksAllowed: Bool

    /// `lastSeen`: the in-memory time of a connected host (``AgentPresence``),
    /// fresher than the row's.
    init(_ summary: HostSummary, packages: AgentPackageCatalog, lastSeen: Date? = nil) {
        let host = summary.host
        id = host.id.rawValue
        name = host.name
        hostname = host.hostname
        os = host.os
        arch = host.arch
        agentVersion = host.agentVersion
        resticVersion = host.resticVersion
        status = host.connected ? "online" : "offline"
        lastSeenAt = lastSeen ?? host.lastSeenAt
        lastBackup = summary.lastBackup.map {
            LastBackup(jobId: $0.jobID.rawValue, status: $0.status, finishedAt: $0.finishedAt)
        }
        let version = summary.scheduleVersion
        scheduleSync = version.inSync ? "in_sync" : "pending"
        desiredScheduleVersion = version.desiredVersion
        ackedScheduleVersion = version.ackedVersion
        openAlerts = summary.openAlerts
        updateAvailable = packages.update(forAgentVersion: host.agentVersion, arch: host.arch) != nil
        repoSizeBytes = summary.repoSizeBytes
        attention = summary.attention
        timezone = host.timezone
        notes = host.notes
        enrolledAt = host.enrolledAt
        restoreTargets = host.restoreTargets
        hooksAllowed = host.hooksAllowed
    }
}

/// Hosts, their repository config, snapshots and repository stats.
struct HostController {
    let services: ServerServices

    struct UpdateRequest: Decodable {
        let name: String?
        let notes: String?

        static let schema = BodySchema(optional: ["name": .string, "notes": .string])
    }

    struct ConfigResponse: ResponseEncodable, Sendable {
        let repoUrl: String
        let repoUsername: String
        let repoPasswordSet: Bool
        let repoCredentialSet: Bool
        let hookShell: String
    }

    /// Absent or null keeps a secret; an empty string clears it.
    struct ConfigRequest: Decodable {
        let repoUrl: String?
        let repoUsername: String?
        let repoPassword: String?
        let repoCredential: String?
        let hookShell: String?

        static let schema = BodySchema(optional: [
            "repo_url": .string, "repo_username": .string, "repo_password": .string, "repo_credential": .string,
            "hook_shell": .string,
        ])
    }

    struct SnapshotResponse: Encodable, Sendable {
        let id: String
        let time: Date
        let hostname: String
        let paths: [String]
        let tags: [String]
        let sizeBytes: Int64
        let fileCount: Int64
    }

    struct StatsResponse: Encodable, Sendable {
        let reportedAt: Date
        let sizeBytes: Int64
        let snapshotCount: Int64
        let dedupRatio: Double
        @ExplicitNull var lastCheckAt: Date?
        @ExplicitNull var lastCheckStatus: String?
        let lockState: String
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/hosts", catalog: catalog,
                    summary: "List hosts with status, last backup and schedule sync, filtered by status, attention or name",
                    access: .viewer, query: QueryParameter.page + HostFilter.parameters, use: list)
        group.route(.get, "/hosts/{id}", catalog: catalog, summary: "One host", access: .viewer, use: get)
        group.route(.patch, "/hosts/{id}", catalog: catalog, summary: "Rename a host or change its notes",
                    access: .operator, body: UpdateRequest.schema, use: update)
        group.route(.delete, "/hosts/{id}", catalog: catalog, summary: "Delete a host and revoke its agent token",
                    access: .admin, status: .noContent, use: delete)
        group.route(.get, "/hosts/{id}/config", catalog: catalog, summary: "Repository config (secrets write-only)",
                    access: .admin, use: getConfig)
        group.route(.put, "/hosts/{id}/config", catalog: catalog, summary: "Set repository config", access: .admin,
                    body: ConfigRequest.schema, use: putConfig)
        group.route(.get, "/hosts/{id}/snapshots", catalog: catalog, summary: "Snapshots in the host's repository",
                    access: .viewer, query: QueryParameter.page, use: snapshots)
        group.route(.get, "/hosts/{id}/stats", catalog: catalog, summary: "Repository stats history, newest first",
                    access: .viewer, query: QueryParameter.page, use: stats)
    }

    func requireHost(_ context: AuthenticatedContext) async throws -> HostRecord {
        let id = try context.parameters.require("id")
        guard let host = try await services.database.host(id: HostID(id)) else { throw APIError.notFound("host") }
        return host
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<HostResponse> {
        let hosts = try await services.database.listHosts(
            page: try PageCursor.page(from: request), filter: try Self.filter(from: request))
        let seen = await services.presence.lastSeen(of: hosts.items.map(\.host.id))
        return ListResponse(hosts, map: { HostResponse($0, packages: services.packages, lastSeen: seen[$0.host.id]) })
    }

    /// The host filter of a request, shared with the fleet page.
    static func filter(from request: Request) throws -> HostFilter {
        do {
            return try HostFilter(status: try FormQuery.value("status", in: request),
                                  attention: try FormQuery.value("attention", in: request),
                                  search: try FormQuery.value("q", in: request))
        } catch let error as HostFilterError {
            throw APIError.validation(error.parameter, error.reason)
        }
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> HostResponse {
        let id = try context.parameters.require("id")
        guard let summary = try await services.database.hostSummary(id: HostID(id)) else {
            throw APIError.notFound("host")
        }
        let seen = await services.presence.lastSeen(of: [summary.host.id])
        return HostResponse(summary, packages: services.packages, lastSeen: seen[summary.host.id])
    }

    @Sendable func update(_ request: Request, context: AuthenticatedContext) async throws -> HostResponse {
        return try await update(try await request.decode(as: UpdateRequest.self, context: context), context: context)
    }

    /// Renames the host of the request or changes its notes.
    func update(_ body: UpdateRequest, context: AuthenticatedContext) async throws -> HostResponse {
        let host = try await requireHost(context)
        let name = try body.name.map { try Validate.name($0, field: "name") }
        let notes = try body.notes.map { try Validate.text($0, field: "notes", maxLength: 4096) }
        _ = try await services.database.updateHost(id: host.id, name: name, notes: notes, by: context.auditActor)
        guard let summary = try await services.database.hostSummary(id: host.id) else { throw APIError.notFound("host") }
        return HostResponse(summary, packages: services.packages)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await delete(context: context)
        return Response(status: .noContent)
    }

    /// Deletes the host of the request, revokes its agent token and drops its socket.
    func delete(context: AuthenticatedContext) async throws {
        let host = try await requireHost(context)
        try await services.database.revokeHost(id: host.id, by: context.auditActor)
        await services.hub.disconnect(hostID: host.id, reason: "host deleted")
        services.alerts.poke()
    }

    @Sendable func getConfig(_ request: Request, context: AuthenticatedContext) async throws -> ConfigResponse {
        let host = try await requireHost(context)
        let config = try await services.database.hostConfig(hostID: host.id)
        return ConfigResponse(
            repoUrl: config?.repoURL ?? "", repoUsername: config?.repoUsername ?? "",
            repoPasswordSet: config?.repoPasswordSealed != nil, repoCredentialSet: config?.repoCredentialSealed != nil,
            hookShell: config?.hookShell ?? "")
    }

    @Sendable func putConfig(_ request: Request, context: AuthenticatedContext) async throws -> ConfigResponse {
        return try await setConfig(try await request.decode(as: ConfigRequest.self, context: context), context: context)
    }

    /// Validates and stores the repository config of the request's host,
    /// sealing its secrets, and pushes it to the agent.
    func setConfig(_ body: ConfigRequest, context: AuthenticatedContext) async throws -> ConfigResponse {
        let host = try await requireHost(context)
        if let url = body.repoUrl { try RepositoryURL.validate(url) }
        let username = try body.repoUsername.map { try Validate.text($0, field: "repo_username", maxLength: 256) }
        let shell = try body.hookShell.map { try Validate.text($0, field: "hook_shell", maxLength: 256) }
        // The owning row is the associated data: a ciphertext copied to
        // another host or field does not decrypt.
        func seal(_ value: String?, field: String) throws -> [UInt8]?? {
            guard let value else { return nil }
            if value.isEmpty { return .some(nil) }
            _ = try Validate.text(value, field: field, maxLength: 4096)
            return .some(try services.secretBox.seal(value, associatedData: SecretAssociation.hostConfig(host.id, field)))
        }
        let change = HostConfigChange(
            repoURL: body.repoUrl, repoUsername: username,
            repoPasswordSealed: try seal(body.repoPassword, field: "repo_password"),
            repoCredentialSealed: try seal(body.repoCredential, field: "repo_credential"), hookShell: shell)
        let config = try await services.database.updateHostConfig(hostID: host.id, change: change, by: context.auditActor)
        await services.hub.pushConfig(hostID: host.id)
        return ConfigResponse(
            repoUrl: config.repoURL, repoUsername: config.repoUsername,
            repoPasswordSet: config.repoPasswordSealed != nil, repoCredentialSet: config.repoCredentialSealed != nil,
            hookShell: config.hookShell)
    }

    @Sendable func snapshots(_ request: Request, context: AuthenticatedContext) async throws
        -> ListResponse<SnapshotResponse>
    {
        let host = try await requireHost(context)
        let page = try await services.database.snapshots(hostID: host.id, page: try PageCursor.page(from: request))
        return ListResponse(page) {
            SnapshotResponse(id: $0.snapshotId, time: $0.time, hostname: $0.hostname, paths: $0.paths, tags: $0.tags,
                             sizeBytes: $0.sizeBytes, fileCount: $0.fileCount)
        }
    }

    @Sendable func stats(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<StatsResponse> {
        let host = try await requireHost(context)
        let page = try await services.database.repoStats(hostID: host.id, page: try PageCursor.page(from: request))
        return ListResponse(page) {
            StatsResponse(reportedAt: $0.reportedAt, sizeBytes: $0.sizeBytes, snapshotCount: $0.snapshotCount,
                          dedupRatio: $0.dedupRatio, lastCheckAt: $0.lastCheckAt, lastCheckStatus: $0.lastCheckStatus,
                          lockState: $0.lockState)
        }
    }
}


/// Checks a restic repository URL before it reaches an agent.
enum RepositoryURL {
    static let schemes = ["local:", "sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:"]

    static func validate(_ url: String) throws {
        guard !url.isEmpty else { return }
        guard url.count <= 2048 else { throw APIError.validation("repo_url", "must be at most 2048 characters") }
        guard !url.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw APIError.validation("repo_url", "must be a single line")
        }
        guard url.hasPrefix("/") || schemes.contains(where: url.hasPrefix) || url.range(of: #"^[A-Za-z]:\\"#, options: .regularExpression) != nil
        else {
            throw APIError.validation(
                "repo_url", "must be an absolute path or start with one of \(schemes.joined(separator: " "))")
        }
        if embedsCredentials(url) {
            throw APIError.validation(
                "repo_url", "must not embed credentials; set repo_username and repo_credential instead")
        }
    }

    /// Whether a password rides in the URL, where it would be stored in
    /// clear and shown on the host page: any `@` in a `rest:` URL, and a
    /// `user:password@` part in a `scheme://` URL (`s3:https://KEY:SECRET@…`)
    /// or an sftp address (`sftp:user:SECRET@host:/x`). The other backends
    /// (b2, azure, gs, swift, rclone) take their credentials from the
    /// environment or their own config, never from the URL.
    static func embedsCredentials(_ url: String) -> Bool {
        if url.hasPrefix("rest:") { return url.contains("@") }
        guard let colon = url.firstIndex(of: ":") else { return false }
        var rest = url[url.index(after: colon)...]
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        else if url.hasPrefix("sftp:"), rest.hasPrefix("//") { rest = rest.dropFirst(2) }
        else if !url.hasPrefix("sftp:") { return false }
        // The authority ends at the first `/`; a password is a `:` before its `@`.
        let authority = rest.prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }
}
