/// What a restore request and a snapshot browse may name (SPEC §10): the
/// syntax both sides check — the server before it queues or asks, the
/// agent again on every `command.run` and `snapshot.ls`, whatever the
/// server said. Where a restore may write is the agent's own decision
/// (its `--restore-to` folders), not part of this.
public enum RestoreArguments {
    public static let maxIncludes = 1000

    /// What a restore is refused with on a host whose agent allows none
    /// (SPEC §10.3); the agent says it, and the server before it asks.
    public static let notAllowedMessage =
        "restore is not allowed on this host; start the agent with --restore-to DIR"

    /// Whether `path` is `folder` or below it; both absolute and normalized.
    public static func path(_ path: String, isInside folder: String) -> Bool {
        folder == "/" || path == folder || path.hasPrefix(folder + "/")
    }

    /// The first problem with `request`, nil when its syntax is fine.
    public static func problem(_ request: RestoreRequest) -> RunArguments.Problem? {
        if let reason = snapshotIDProblem(request.snapshotID) {
            return RunArguments.Problem(field: "restore.snapshot_id", reason: reason)
        }
        guard request.include.count <= maxIncludes else {
            return RunArguments.Problem(field: "restore.include", reason: "must have at most \(maxIncludes) paths")
        }
        for (index, path) in request.include.enumerated() {
            if let reason = absolutePathProblem(path) {
                return RunArguments.Problem(field: "restore.include[\(index)]", reason: reason)
            }
        }
        if let reason = absolutePathProblem(request.target) {
            return RunArguments.Problem(field: "restore.target", reason: reason)
        }
        return nil
    }

    /// restic's snapshot ids are hex; the short form has 8 digits.
    public static func snapshotIDProblem(_ id: String) -> String? {
        let hex = id.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        guard hex, (8...64).contains(id.utf8.count) else {
            return "must be a snapshot id: 8 to 64 lowercase hex digits"
        }
        return nil
    }

    /// Why `path` is not a single-line absolute path of at most
    /// ``RunArguments/maxPathBytes`` bytes, nil when it is.
    public static func absolutePathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/"), path.utf8.count <= RunArguments.maxPathBytes,
            !path.contains(where: { $0.isNewline || $0 == "\0" })
        else { return "must be a single-line absolute path of at most \(RunArguments.maxPathBytes) bytes" }
        return nil
    }

    /// A folder path as restic names it: no trailing or doubled slashes
    /// (`/srv//a/` → `/srv/a`), `/` for the root.
    public static func normalizedFolder(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return "/" + parts.joined(separator: "/")
    }
}
