import Logging
import ResticManagerProtocol
import Synchronization

/// Answers `snapshot.ls` (SPEC §10.1): one folder of a snapshot from
/// `restic ls --json --no-lock`, beside the job queue rather than in it, so
/// a slow listing never holds up a backup and a backup never holds up a
/// browse. `--no-lock` because browsing only reads and must work while a
/// job holds the repository.
///
/// At most ``maxConcurrent`` listings run at once; more are answered
/// `busy` at once rather than queued, so a server cannot pile up restic
/// processes on a host.
public final class SnapshotBrowser: Sendable {
    public static let maxConcurrent = 4
    /// Below the server's 60 s, so the server hears why rather than a timeout.
    public static let timeout: Duration = .seconds(55)

    let command: ResticReadCommand
    private let running = Atomic<Int>(0)

    public init(restic: ResticInstallation, logger: Logger) {
        command = ResticReadCommand(restic: restic, timeout: Self.timeout, logger: logger)
    }

    public func list(_ request: SnapshotLsRequest, repository: RepositoryConfig) async -> SnapshotLsResult {
        let path = RestoreArguments.normalizedFolder(request.path)
        if let reason = RestoreArguments.snapshotIDProblem(request.snapshotID) {
            return .failure(requestID: request.requestID, path: path, .failed, "bad snapshot_id: \(reason)")
        }
        if let reason = RestoreArguments.absolutePathProblem(request.path) {
            return .failure(requestID: request.requestID, path: path, .failed, "bad path: \(reason)")
        }
        guard acquire() else {
            return .failure(requestID: request.requestID, path: path, .busy,
                            "this host is already listing \(Self.maxConcurrent) snapshot folders; try again shortly")
        }
        defer { running.subtract(1, ordering: .relaxed) }
        var listing = SnapshotListing(snapshotID: request.snapshotID, path: path)
        do {
            try await command.run(["ls", "--json", "--no-lock", request.snapshotID, "--", path], on: repository) {
                listing.consume($0)
            }
        } catch {
            return .failure(requestID: request.requestID, path: path, .failed, error.description)
        }
        return listing.result(requestID: request.requestID)
    }

    private func acquire() -> Bool {
        var current = running.load(ordering: .relaxed)
        while current < Self.maxConcurrent {
            let (exchanged, original) = running.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }
}
