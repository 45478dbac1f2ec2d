import ResticManagerProtocol

/// Another host's repository credentials for a cross-host restore, held in
/// memory from `command.run` until the job runs (SPEC §10.2: they reach
/// this host only inside the socket). The state file records where the
/// source is, never its password, so a restart loses them and the restore
/// fails with ``lostMessage`` instead of running with secrets from disk.
public actor RestoreSourceSecrets {
    public static let lostMessage =
        "the source repository's credentials are kept in memory only and were lost when the agent restarted; "
        + "start the restore again"

    private var sources: [String: RepositorySource] = [:]

    public init() {}

    func keep(_ source: RepositorySource, jobID: String) {
        sources[jobID] = source
    }

    /// The job's source, once: it is forgotten as the job starts.
    func take(jobID: String) -> RepositorySource? {
        sources.removeValue(forKey: jobID)
    }
}
