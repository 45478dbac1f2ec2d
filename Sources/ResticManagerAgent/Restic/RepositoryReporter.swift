import Foundation
import Logging
import ResticManagerProtocol
import ResticManagerCore

/// A restic command run for a report failed.
public struct ResticCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The restic subcommand, e.g. `snapshots`.
    public let command: String
    /// restic's exit code, or ``JobOutcome/noExitCode`` if it did not run.
    public let exitCode: Int
    /// What went wrong, for the operator; never contains a secret.
    public let message: String

    public var description: String { "restic \(command): \(message)" }
}

/// Reads the repository's snapshot list and health for `snapshots.report`
/// and `repo.stats` (SPEC §5, "After a backup").
///
/// Every command runs with `--no-lock`: reports only read, must not get in
/// the way of a job, and must still work when a stale lock blocks the
/// repository (that is when ``stats(_:lastCheck:)`` reporting
/// `lock_state: locked` matters most). Run reports between jobs, not
/// alongside one: one restic at a time per repository.
public struct RepositoryReporter: Sendable {
    public let restic: ResticInstallation
    private let logger: Logger
    private let timeout: Duration

    /// `timeout` bounds each restic command (a restore-size `stats` walks
    /// every snapshot, which takes a while on big repositories).
    public init(restic: ResticInstallation, timeout: Duration = .seconds(3600), logger: Logger) {
        self.restic = restic
        self.timeout = timeout
        self.logger = logger
    }

    /// The repository's snapshots, oldest first, from
    /// `restic snapshots --json`. restic 0.14 does not report a snapshot's
    /// size or file count (0.17 does); computing them costs a `restic stats`
    /// per snapshot, so they are left nil.
    public func snapshots(_ repo: RepositoryConfig) async throws -> [Snapshot] {
        try Self.parseSnapshots(try await runRestic(["snapshots", "--json", "--no-lock"], on: repo))
    }

    /// Parses `restic snapshots --json` output.
    static func parseSnapshots(_ output: String) throws(ResticCommandError) -> [Snapshot] {
        guard case .array(let items)? = JSONValue.parse(output) else {
            throw ResticCommandError(command: "snapshots", exitCode: 0, message: "unexpected output (not a JSON list)")
        }
        var snapshots: [Snapshot] = []
        for item in items {
            guard let id = item["id"]?.stringValue,
                let timeText = item["time"]?.stringValue, let time = RFC3339.parse(timeText)
            else {
                throw ResticCommandError(command: "snapshots", exitCode: 0, message: "a snapshot without id or time")
            }
            snapshots.append(
                Snapshot(
                    id: id,
                    time: time,
                    hostname: item["hostname"]?.stringValue ?? "",
                    paths: strings(item["paths"]),
                    tags: strings(item["tags"])
                )
            )
        }
        return snapshots
    }

    /// The repository's size and health: `size_bytes` and `snapshot_count`
    /// from `restic stats --mode raw-data` (bytes stored, after dedup and
    /// compression), `dedup_ratio` = restore size (`restic stats`) / raw
    /// size (0 for an empty repository), and `lock_state` from
    /// `restic list locks` (`locked` if any lock file exists, stale or not).
    /// `lastCheck` is passed through: the caller knows when `check` last ran.
    public func stats(_ repo: RepositoryConfig, lastCheck: (at: Date, status: String)?) async throws -> RepoStatsPayload
    {
        let raw = try await runRestic(["stats", "--json", "--no-lock", "--mode", "raw-data"], on: repo)
        let restore = try await runRestic(["stats", "--json", "--no-lock"], on: repo)
        let locks = try await runRestic(["list", "locks", "--no-lock"], on: repo)
        return try Self.parseStats(rawData: raw, restoreSize: restore, locks: locks, lastCheck: lastCheck)
    }

    /// Builds `repo.stats` from the output of `stats --mode raw-data`,
    /// `stats` (restore size) and `list locks`.
    static func parseStats(
        rawData: String,
        restoreSize: String,
        locks: String,
        lastCheck: (at: Date, status: String)?
    ) throws(ResticCommandError) -> RepoStatsPayload {
        guard let raw = JSONValue.parse(rawData), case .object = raw,
            let restore = JSONValue.parse(restoreSize), case .object = restore
        else {
            throw ResticCommandError(command: "stats", exitCode: 0, message: "unexpected output (not a JSON object)")
        }
        let rawSize = raw["total_size"]?.int64Value ?? 0
        let restoredSize = restore["total_size"]?.int64Value ?? 0
        let lockCount = locks.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }.count
        return RepoStatsPayload(
            sizeBytes: rawSize,
            snapshotCount: Int(raw["snapshots_count"]?.int64Value ?? 0),
            dedupRatio: rawSize > 0 ? Double(restoredSize) / Double(rawSize) : 0,
            lastCheckAt: lastCheck?.at,
            lastCheckStatus: lastCheck?.status,
            lockState: lockCount > 0 ? "locked" : "unlocked"
        )
    }

    /// Runs restic, returns its stdout; throws with a diagnosed message if
    /// it fails.
    private func runRestic(_ arguments: [String], on repo: RepositoryConfig) async throws(ResticCommandError) -> String
    {
        var stdout: [String] = []
        try await ResticReadCommand(restic: restic, timeout: timeout, logger: logger)
            .run(arguments, on: repo) { stdout.append($0) }
        return stdout.joined(separator: "\n")
    }

    private static func strings(_ value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap(\.stringValue)
    }
}
