/// The operation a job runs (SPEC §5). `init` and `restore` are additions
/// to the original v1 set and keep protocol version 1.
public enum JobKind: String, Sendable, Hashable, CaseIterable, Codable {
    case backup
    case forget
    case prune
    case check
    case unlock
    /// `restic init`: creates the repository, only when asked to.
    case `init`
    case restore
}

/// The lifecycle state of a job.
public enum JobStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    /// Whether the job has ended and will not change again.
    public var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}

/// What started a job.
public enum JobTrigger: String, Sendable, Hashable, CaseIterable, Codable {
    /// An operator pressed "run now" in the UI.
    case manual
    /// The agent's own cron fired.
    case schedule
    /// An API client asked for it.
    case api
}

/// Which channel a ``LogStreamLine`` came from.
public enum LogStreamKind: String, Sendable, Hashable, CaseIterable, Codable {
    case stdout
    case stderr
    /// A parsed `restic --json` event.
    case event
}
