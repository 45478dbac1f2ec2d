import ResticManagerProtocol

/// Everything the agent needs to run one job: the job's identity and kind
/// plus the definition of the schedule (or ad-hoc request) it came from.
public struct JobSpec: Sendable, Equatable {
    public var jobID: String
    public var kind: JobKind
    /// The schedule this run belongs to; nil for ad-hoc jobs.
    public var scheduleID: String?
    /// What a `backup` saves. Ignored by the other kinds.
    public var paths: [String]
    /// `--exclude` patterns for a `backup`.
    public var excludes: [String]
    /// Tags a `backup` puts on its snapshot.
    public var tags: [String]
    /// `{"keep_last", …, "keep_within", "keep_tags", "prune"}` for a `forget`.
    public var retentionPolicy: RawJSON?
    /// `{"one_file_system", "exclude_caches", "limit_upload_kib",
    /// "limit_download_kib", "compression", "read_data_subset", "extra_args"}`.
    public var options: RawJSON?
    /// Shell command run before restic; empty for none.
    public var preHook: String
    /// Shell command run after restic, whatever happened; empty for none.
    public var postHook: String
    /// What a `restore` restores and where. Ignored by the other kinds.
    public var restore: RestoreRequest?

    public init(
        jobID: String,
        kind: JobKind,
        scheduleID: String? = nil,
        paths: [String] = [],
        excludes: [String] = [],
        tags: [String] = [],
        retentionPolicy: RawJSON? = nil,
        options: RawJSON? = nil,
        preHook: String = "",
        postHook: String = "",
        restore: RestoreRequest? = nil
    ) {
        self.jobID = jobID
        self.kind = kind
        self.scheduleID = scheduleID
        self.paths = paths
        self.excludes = excludes
        self.tags = tags
        self.retentionPolicy = retentionPolicy
        self.options = options
        self.preHook = preHook
        self.postHook = postHook
        self.restore = restore
    }
}

/// A job definition that cannot be turned into a safe restic command.
/// ``reason`` is meant for the operator and names the offending field.
public struct JobSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// Something a running job reports, in the order it happened.
public enum JobEvent: Sendable, Equatable {
    /// One line for the job log (`log.stream`): restic's stdout or stderr,
    /// a parsed restic JSON message (`event`), or a hook's output
    /// prefixed with `[pre-hook] ` / `[post-hook] `.
    case log(LogStreamKind, String)
    /// Throttled progress for `job.progress`.
    case progress(JobProgressPayload)
}

/// How a job ended: the fields of `job.finished` the executor decides.
public struct JobOutcome: Sendable, Equatable {
    public var status: JobStatus
    /// restic's exit code; `128 + n` if it was killed by signal n;
    /// ``JobOutcome/noExitCode`` when restic never ran.
    public var exitCode: Int
    /// restic's `summary` message, verbatim (backups only).
    public var stats: RawJSON?
    /// What went wrong, for the operator; also set on a backup that
    /// succeeded with unreadable files (exit code 3).
    public var error: String?

    public init(status: JobStatus, exitCode: Int, stats: RawJSON? = nil, error: String? = nil) {
        self.status = status
        self.exitCode = exitCode
        self.stats = stats
        self.error = error
    }

    /// The exit code reported when restic was not run at all (bad job
    /// definition, failing pre-hook, restic missing).
    public static let noExitCode = -1

    /// The outcome of a job on a host where restic cannot be found. Use it
    /// when ``ResticInstallation/locate(configuredPath:)`` returned nil.
    public static func resticNotFound(configuredPath: String? = nil) -> JobOutcome {
        let detail =
            if let configuredPath, !configuredPath.isEmpty { " at \(configuredPath)" } else { " on PATH" }
        return JobOutcome(status: .failed, exitCode: noExitCode, error: "restic not found\(detail)")
    }
}
