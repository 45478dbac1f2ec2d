import Foundation
import ResticManagerProtocol

/// The `restore` object of a run-now request (SPEC §10.2).
struct RestoreBody: Decodable, Sendable {
    let snapshotId: String
    let include: [String]?
    let target: String
    let sourceHostId: String?
    let verify: Bool?
}

/// Turns a restore request into the job to queue, after checking what the
/// server knows: the caller's role, the source host and its snapshot, and
/// the folders the target host's agent said it allows. The agent checks
/// the target again itself (it resolves links the server cannot see); this
/// only spares the operator a job that is bound to be refused.
struct RestorePlanner {
    let database: AppDatabase

    func plan(_ body: RestoreBody?, onto host: HostRecord, context: AuthenticatedContext) async throws -> JobRestore {
        guard let body else {
            throw APIError.validation("restore", "a restore job needs restore: {snapshot_id, target, include?}")
        }
        let request = RestoreRequest(snapshotID: body.snapshotId, include: body.include ?? [], target: body.target,
                                     verify: body.verify ?? false)
        if let problem = RestoreArguments.problem(request) {
            throw APIError.validation(problem.field, problem.reason)
        }
        let include = request.include.map(RestoreArguments.normalizedFolder)
        let sourceID = body.sourceHostId.map { HostID($0) } ?? host.id
        if sourceID != host.id {
            guard context.user.role >= .admin else {
                throw APIError.forbidden(
                    "restoring another host's snapshot onto this host needs the admin role; you are \(context.user.role.rawValue)")
            }
        }
        guard let source = try await database.host(id: sourceID) else { throw APIError.notFound("source host") }
        guard let config = try await database.hostConfig(hostID: source.id), !config.repoURL.isEmpty,
            config.repoPasswordSealed != nil
        else { throw APIError.conflict("the source host has no repository configured") }
        guard let snapshot = try await database.snapshot(hostID: source.id, matching: body.snapshotId) else {
            throw APIError.notFound("snapshot")
        }
        guard !host.restoreTargets.isEmpty else { throw APIError.conflict(RestoreArguments.notAllowedMessage) }
        let target = RestoreArguments.normalizedFolder(body.target)
        if target.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            throw APIError.validation("restore.target", "must not contain \".\" or \"..\" components")
        }
        guard host.restoreTargets.contains(where: { RestoreArguments.path(target, isInside: $0) }) else {
            throw APIError.validation(
                "restore.target", "must be inside a folder this host allows restores into: "
                    + host.restoreTargets.joined(separator: ", "))
        }
        return JobRestore(snapshotId: snapshot.snapshotId, include: include, target: target, sourceHostId: source.id,
                          verify: body.verify ?? false)
    }
}
