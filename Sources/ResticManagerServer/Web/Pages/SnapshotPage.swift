import Foundation
import Hummingbird
import ResticManagerProtocol

/// The snapshot browser (SPEC §11): one folder of a snapshot at a time,
/// listed by the host's agent, with breadcrumbs; tick files or folders and
/// restore them into a folder the target host allows.
struct SnapshotPage {
    let services: ServerServices
    let responder: WebResponder

    struct Crumb {
        let name: String
        let href: String
    }

    struct NodeRow {
        let index: Int
        let name: String
        let path: String
        let type: String
        let isFolder: Bool
        let href: String
        let size: String
        let modified: String
        let modifiedText: String
    }

    /// One place a restore can go: a folder a host's agent allows.
    struct TargetChoice {
        let value: String
        let label: String
        let selected: Bool
    }

    struct Model {
        let hostID: String
        let hostName: String
        let snapshotID: String
        let shortID: String
        let time: String
        let timeText: String
        let paths: String
        let path: String
        let crumbs: [Crumb]
        let rows: [NodeRow]
        let hasRows: Bool
        let truncated: Bool
        /// Why there is no listing (host offline, not a folder, timeout …).
        let error: String?
        let targets: [TargetChoice]
        let canRestore: Bool
        let suggestedFolder: String
        let restoreHelp: String
        /// For admins while the snapshot's host is offline: connected hosts
        /// that can list it instead (`via`).
        let viaChoices: [TargetChoice]
        let hasViaChoices: Bool
        let viaName: String?
    }

    /// What the pages say about a host whose agent allows no restore.
    static let noRestoreHelp =
        "This host allows no restores. To allow them, start its agent with --restore-to DIR (repeatable); "
        + "restores then go into DIR only."

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/hosts/{id}/snapshots/{snapshot_id}", method: .get, access: .viewer, use: show)
        group.on("/hosts/{id}/snapshots/{snapshot_id}/restore", method: .post, access: .operator, use: restore)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let host = try await HostController(services: services).requireHost(context)
        let snapshotID = try context.parameters.require("snapshot_id")
        guard let snapshot = try await services.database.snapshot(hostID: host.id, matching: snapshotID) else {
            throw APIError.notFound("snapshot")
        }
        let query = try SnapshotBrowsing.query(request)
        let path = RestoreArguments.normalizedFolder(query.path)
        var listing: SnapshotLsResult?
        var failure: APIError?
        do {
            listing = try await SnapshotBrowsing(services: services).list(
                host: host, snapshotID: snapshot.snapshotId, path: path, via: query.via, context: context)
        } catch let error as APIError {
            failure = error
        }
        let link = Link(base: "/hosts/\(host.id)/snapshots/\(snapshot.snapshotId)", via: query.via)
        let rows = (listing?.nodes ?? []).enumerated().map { index, node in
            Self.row(node, index: index, link: link)
        }
        let online = await services.hub.isConnected(host.id)
        let viaChoices = online || context.user.role < .admin ? [] : try await connectedHosts(except: host.id).map {
            TargetChoice(value: $0.id.rawValue, label: $0.name, selected: $0.id == query.via)
        }
        let targets = try await targetChoices(for: host, context: context)
        let now = Date()
        let model = Model(
            hostID: host.id.rawValue, hostName: host.name, snapshotID: snapshot.snapshotId,
            shortID: String(snapshot.snapshotId.prefix(8)), time: WebFormat.machine(snapshot.time),
            timeText: WebFormat.timestamp(snapshot.time), paths: snapshot.paths.joined(separator: ", "), path: path,
            crumbs: Self.crumbs(path, link: link), rows: rows, hasRows: !rows.isEmpty,
            truncated: listing?.truncated ?? false, error: failure.map { "\($0.message)." },
            targets: targets, canRestore: context.user.role >= .operator && !targets.isEmpty,
            suggestedFolder: "restore-\(snapshot.snapshotId.prefix(8))-\(Self.stamp(now))",
            restoreHelp: targets.isEmpty && host.restoreTargets.isEmpty ? Self.noRestoreHelp : "",
            viaChoices: viaChoices, hasViaChoices: !viaChoices.isEmpty,
            viaName: try await query.via.asyncMap { try await services.database.host(id: $0)?.name } ?? nil)
        return try await responder.page(
            "snapshot", title: "Snapshot \(model.shortID) — \(host.name)", section: "dashboard", page: model,
            request: request, context: context, status: failure?.status ?? .ok)
    }

    /// Queues the restore on the chosen target host and opens its job page.
    @Sendable func restore(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let source = try await HostController(services: services).requireHost(context)
        let snapshotID = try context.parameters.require("snapshot_id")
        let form = try await FormFields.of(request)
        let include = form.values(named: "include-")
        let choice = form.text("target").split(separator: "|", maxSplits: 1).map(String.init)
        guard choice.count == 2 else { throw APIError.validation("target", "choose where to restore to") }
        let folder = form.text("folder").trimmingCharacters(in: .whitespaces)
        guard !folder.isEmpty, !folder.contains("/") else {
            throw APIError.validation("folder", "name a new folder to restore into (no slashes)")
        }
        let body = JobController.RunRequest(
            kind: JobKind.restore.rawValue, scheduleId: nil, args: nil,
            restore: RestoreBody(snapshotId: snapshotID, include: include,
                                 target: choice[1] + (choice[1].hasSuffix("/") ? "" : "/") + folder,
                                 sourceHostId: source.id.rawValue, verify: form.isChecked("verify")))
        let job = try await JobController(services: services).runNow(body, on: HostID(choice[0]), context: context)
        return WebResponse.redirect(to: "/jobs/\(job.id)", flash: "Restore queued.")
    }

    /// This host's folders, and for admins every other host's: an operator
    /// restores a host's snapshot onto that host only.
    private func targetChoices(for host: HostRecord, context: AuthenticatedContext) async throws -> [TargetChoice] {
        var hosts = host.restoreTargets.isEmpty ? [] : [host]
        if context.user.role >= .admin {
            hosts += try await services.database.hostsAllowingRestore().filter { $0.id != host.id }
        }
        return hosts.flatMap { candidate in
            candidate.restoreTargets.map { folder in
                TargetChoice(value: "\(candidate.id)|\(folder)", label: "\(candidate.name): \(folder)",
                             selected: candidate.id == host.id && folder == host.restoreTargets.first)
            }
        }
    }

    /// Connected hosts whose agents allow restores: where a gone host's
    /// snapshot can be listed and then restored.
    private func connectedHosts(except id: HostID) async throws -> [HostRecord] {
        var hosts: [HostRecord] = []
        for candidate in try await services.database.hostsAllowingRestore() where candidate.id != id {
            if await services.hub.isConnected(candidate.id) { hosts.append(candidate) }
        }
        return hosts
    }

    /// Links within the browser keep the `via` host.
    struct Link {
        let base: String
        let via: HostID?

        func to(_ path: String) -> String {
            PageLink.to(base, query: [("path", path)] + (via.map { [("via", $0.rawValue)] } ?? []))
        }
    }

    private static func row(_ node: SnapshotNode, index: Int, link: Link) -> NodeRow {
        let isFolder = node.type == "dir"
        return NodeRow(
            index: index, name: node.name, path: node.path, type: node.type, isFolder: isFolder,
            href: link.to(node.path),
            size: node.type == "file" ? WebFormat.bytes(node.size) : "", modified: WebFormat.machine(node.mtime),
            modifiedText: node.mtime.map(WebFormat.timestamp) ?? "—")
    }

    static func crumbs(_ path: String, link: Link) -> [Crumb] {
        var crumbs = [Crumb(name: "/", href: link.to("/"))]
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            crumbs.append(Crumb(name: String(part), href: link.to(prefix)))
        }
        return crumbs
    }

    private static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
