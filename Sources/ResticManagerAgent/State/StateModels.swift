import Foundation
import ResticManagerProtocol

/// What `enroll` obtained: where the server is and the token that proves
/// this host to it.
public struct AgentCredential: Sendable, Equatable {
    public var serverURL: String
    public var agentToken: String
    public var hostID: String
    public var enrolledAt: Date

    public init(serverURL: String, agentToken: String, hostID: String, enrolledAt: Date = Date()) {
        self.serverURL = serverURL
        self.agentToken = agentToken
        self.hostID = hostID
        self.enrolledAt = enrolledAt
    }
}

/// The repository settings last received in `config.update`; an empty
/// string means "not set".
public struct StoredConfig: Sendable, Equatable {
    public var repoURL = ""
    public var repoPassword = ""
    public var repoUsername = ""
    public var repoCredential = ""
    public var hookShell = ""
    public var updatedAt: Date?

    public init(
        repoURL: String = "", repoPassword: String = "", repoUsername: String = "", repoCredential: String = "",
        hookShell: String = "", updatedAt: Date? = nil
    ) {
        self.repoURL = repoURL
        self.repoPassword = repoPassword
        self.repoUsername = repoUsername
        self.repoCredential = repoCredential
        self.hookShell = hookShell
        self.updatedAt = updatedAt
    }

    /// SPEC §6.3: a field left empty (absent or "") keeps the stored value.
    public func merging(_ update: ConfigUpdatePayload, at date: Date = Date()) -> StoredConfig {
        func pick(_ new: String?, _ old: String) -> String {
            guard let new, !new.isEmpty else { return old }
            return new
        }
        return StoredConfig(
            repoURL: pick(update.repoURL, repoURL), repoPassword: pick(update.repoPassword, repoPassword),
            repoUsername: pick(update.repoUsername, repoUsername),
            repoCredential: pick(update.repoCredential, repoCredential), hookShell: pick(update.hookShell, hookShell),
            updatedAt: date)
    }

    /// A job can run only with a repository URL and its password.
    public var hasRepository: Bool { !repoURL.isEmpty && !repoPassword.isEmpty }
}

extension StoredConfig: CustomStringConvertible {
    public var description: String {
        "StoredConfig(repoURL: \(repoURL), repoUsername: \(repoUsername), password set: \(!repoPassword.isEmpty), "
            + "credential set: \(!repoCredential.isEmpty), hookShell: \(hookShell))"
    }
}

/// The schedule set applied last, with its version.
public struct StoredScheduleSet: Sendable, Equatable {
    public var version: Int64
    public var appliedAt: Date?
    public var schedules: [Schedule]

    public init(version: Int64 = 0, appliedAt: Date? = nil, schedules: [Schedule] = []) {
        self.version = version
        self.appliedAt = appliedAt
        self.schedules = schedules
    }

    public func schedule(id: String) -> Schedule? { schedules.first { $0.id == id } }
}

/// A job this agent accepted (from `command.run` or its own scheduler),
/// from `queued` until it finished.
public struct AcceptedJob: Sendable, Equatable {
    public var id: String
    public var kind: JobKind
    public var trigger: JobTrigger
    public var scheduleID: String?
    /// Paths of an ad-hoc backup.
    public var args: [String]
    /// The schedule's definition as it was when the job was accepted, so
    /// that a schedule change does not alter a queued job.
    public var schedule: Schedule?
    /// What a `restore` restores and where; its target is the resolved
    /// path the agent's own check allowed.
    public var restore: RestoreRequest?
    /// Another host's repository for a cross-host restore. Its secrets are
    /// set only in memory, between `command.run` and the run; read back
    /// from the state they are empty (see ``RestoreSourceSecrets``).
    public var source: RepositorySource?
    public var status: JobStatus
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int?
    public var error: String?

    public init(
        id: String, kind: JobKind, trigger: JobTrigger, scheduleID: String? = nil, args: [String] = [],
        schedule: Schedule? = nil, restore: RestoreRequest? = nil, source: RepositorySource? = nil,
        status: JobStatus = .queued, queuedAt: Date = Date(), startedAt: Date? = nil,
        finishedAt: Date? = nil, exitCode: Int? = nil, error: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.trigger = trigger
        self.scheduleID = scheduleID
        self.args = args
        self.schedule = schedule
        self.restore = restore
        self.source = source
        self.status = status
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.error = error
    }
}

/// One message waiting for the server's `ack`.
public struct OutboxEntry: Sendable, Equatable {
    /// Insertion order; messages are (re)sent in this order.
    public var seq: Int64
    public var id: String
    public var type: MessageType
    /// The envelope as one WebSocket text frame, exactly as ``EnvelopeCodec``
    /// wrote it when the message was queued; sent as is on every (re)play.
    public var frame: String
    public var createdAt: Date
}

/// What the last connection attempt did, for `status`.
public struct ConnectionRecord: Sendable, Equatable {
    /// Where the connection loop is; the raw values are what `status` prints
    /// and what the state file keeps.
    public enum State: String, Sendable, Equatable {
        case connecting, connected, disconnected, unauthorized, stopped
    }

    public var state: State
    public var changedAt: Date
    public var lastConnectedAt: Date?
    public var lastError: String?
    /// The daemon that recorded it, so `status` can tell a stale record.
    public var pid: Int32?

    public init(
        state: State, changedAt: Date, lastConnectedAt: Date? = nil, lastError: String? = nil, pid: Int32? = nil
    ) {
        self.state = state
        self.changedAt = changedAt
        self.lastConnectedAt = lastConnectedAt
        self.lastError = lastError
        self.pid = pid
    }
}

/// The last repository check's result, reported in `repo.stats`.
public struct CheckRecord: Sendable, Equatable {
    public var at: Date
    public var status: String

    public init(at: Date, status: String) {
        self.at = at
        self.status = status
    }
}

/// One log line on its way into the outbox.
public struct PendingLogLine: Sendable, Equatable {
    public var jobID: String
    public var stream: LogStreamKind
    public var text: String
    public var at: Date

    public init(jobID: String, stream: LogStreamKind, text: String, at: Date = Date()) {
        self.jobID = jobID
        self.stream = stream
        self.text = text
        self.at = at
    }
}

/// The last `agent.update_available` the server sent (SPEC §13), kept so
/// that `status` can say so with the daemon stopped.
public struct UpdateNotice: Sendable, Equatable {
    public var latestVersion: String
    public var packageURL: String
    public var receivedAt: Date

    public init(latestVersion: String, packageURL: String, receivedAt: Date) {
        self.latestVersion = latestVersion
        self.packageURL = packageURL
        self.receivedAt = receivedAt
    }
}
