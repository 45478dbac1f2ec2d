/// Which side may send a message type (SPEC §6.1).
public enum MessageDirection: Sendable, Hashable {
    case agentToServer
    case serverToAgent
    /// Either side may send it (`error`).
    case either
}

/// The `type` field of an envelope: every message of protocol version 1.
public enum MessageType: String, Sendable, CaseIterable, Codable {
    case hello
    case heartbeat
    case configUpdate = "config.update"
    case scheduleSet = "schedule.set"
    case scheduleAck = "schedule.ack"
    case commandRun = "command.run"
    case commandCancel = "command.cancel"
    case commandResult = "command.result"
    case jobStarted = "job.started"
    case jobProgress = "job.progress"
    case jobFinished = "job.finished"
    case logStream = "log.stream"
    case snapshotsReport = "snapshots.report"
    case repoStats = "repo.stats"
    case agentUpdateAvailable = "agent.update_available"
    /// Browse a snapshot folder (SPEC §10.1); a request, not through the outbox.
    case snapshotLs = "snapshot.ls"
    case snapshotLsResult = "snapshot.ls.result"
    case ack
    case error

    /// Who sends this type.
    public var direction: MessageDirection {
        switch self {
        case .hello, .heartbeat, .scheduleAck, .commandResult, .jobStarted, .jobProgress, .jobFinished,
            .logStream, .snapshotsReport, .repoStats, .snapshotLsResult:
            .agentToServer
        case .configUpdate, .scheduleSet, .commandRun, .commandCancel, .agentUpdateAvailable, .snapshotLs, .ack:
            .serverToAgent
        case .error:
            .either
        }
    }

    /// Whether the agent keeps this message in its persistent outbox until
    /// the server acks its `id` (SPEC §6.4): every agent → server message
    /// except `hello`, `heartbeat` and the answer to a browse request
    /// (`snapshot.ls.result`: a browse that fails is asked again).
    public var isAcknowledged: Bool {
        direction == .agentToServer && self != .hello && self != .heartbeat && self != .snapshotLsResult
    }
}
