import Foundation

/// A protocol message: its type together with its payload.
///
/// An enum rather than a type tag plus an untyped payload, so that a
/// payload can never disagree with its `type` and handlers switch
/// exhaustively.
public enum Message: Sendable, Equatable {
    case hello(HelloPayload)
    case heartbeat(HeartbeatPayload)
    case configUpdate(ConfigUpdatePayload)
    case scheduleSet(ScheduleSetPayload)
    case scheduleAck(ScheduleAckPayload)
    case commandRun(CommandRunPayload)
    case commandCancel(CommandCancelPayload)
    case commandResult(CommandResultPayload)
    case jobStarted(JobStartedPayload)
    case jobProgress(JobProgressPayload)
    case jobFinished(JobFinishedPayload)
    case logStream(LogStreamLine)
    case snapshotsReport(SnapshotsReportPayload)
    case repoStats(RepoStatsPayload)
    case agentUpdateAvailable(AgentUpdateAvailablePayload)
    case snapshotLs(SnapshotLsRequest)
    case snapshotLsResult(SnapshotLsResult)
    case ack(AckPayload)
    case error(ErrorPayload)

    /// The envelope `type` of this message.
    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .heartbeat: .heartbeat
        case .configUpdate: .configUpdate
        case .scheduleSet: .scheduleSet
        case .scheduleAck: .scheduleAck
        case .commandRun: .commandRun
        case .commandCancel: .commandCancel
        case .commandResult: .commandResult
        case .jobStarted: .jobStarted
        case .jobProgress: .jobProgress
        case .jobFinished: .jobFinished
        case .logStream: .logStream
        case .snapshotsReport: .snapshotsReport
        case .repoStats: .repoStats
        case .agentUpdateAvailable: .agentUpdateAvailable
        case .snapshotLs: .snapshotLs
        case .snapshotLsResult: .snapshotLsResult
        case .ack: .ack
        case .error: .error
        }
    }

    /// The payload as the codec's internal reader/writer protocol.
    var payload: any WirePayload {
        switch self {
        case .hello(let payload): payload
        case .heartbeat(let payload): payload
        case .configUpdate(let payload): payload
        case .scheduleSet(let payload): payload
        case .scheduleAck(let payload): payload
        case .commandRun(let payload): payload
        case .commandCancel(let payload): payload
        case .commandResult(let payload): payload
        case .jobStarted(let payload): payload
        case .jobProgress(let payload): payload
        case .jobFinished(let payload): payload
        case .logStream(let payload): payload
        case .snapshotsReport(let payload): payload
        case .repoStats(let payload): payload
        case .agentUpdateAvailable(let payload): payload
        case .snapshotLs(let payload): payload
        case .snapshotLsResult(let payload): payload
        case .ack(let payload): payload
        case .error(let payload): payload
        }
    }

    /// Reads the payload object of an envelope whose `type` is `type`.
    init(type: MessageType, reading object: JSONObjectReader) throws(PayloadShapeError) {
        switch type {
        case .hello: self = .hello(try HelloPayload(reading: object))
        case .heartbeat: self = .heartbeat(try HeartbeatPayload(reading: object))
        case .configUpdate: self = .configUpdate(try ConfigUpdatePayload(reading: object))
        case .scheduleSet: self = .scheduleSet(try ScheduleSetPayload(reading: object))
        case .scheduleAck: self = .scheduleAck(try ScheduleAckPayload(reading: object))
        case .commandRun: self = .commandRun(try CommandRunPayload(reading: object))
        case .commandCancel: self = .commandCancel(try CommandCancelPayload(reading: object))
        case .commandResult: self = .commandResult(try CommandResultPayload(reading: object))
        case .jobStarted: self = .jobStarted(try JobStartedPayload(reading: object))
        case .jobProgress: self = .jobProgress(try JobProgressPayload(reading: object))
        case .jobFinished: self = .jobFinished(try JobFinishedPayload(reading: object))
        case .logStream: self = .logStream(try LogStreamLine(reading: object))
        case .snapshotsReport: self = .snapshotsReport(try SnapshotsReportPayload(reading: object))
        case .repoStats: self = .repoStats(try RepoStatsPayload(reading: object))
        case .agentUpdateAvailable: self = .agentUpdateAvailable(try AgentUpdateAvailablePayload(reading: object))
        case .snapshotLs: self = .snapshotLs(try SnapshotLsRequest(reading: object))
        case .snapshotLsResult: self = .snapshotLsResult(try SnapshotLsResult(reading: object))
        case .ack: self = .ack(try AckPayload(reading: object))
        case .error: self = .error(try ErrorPayload(reading: object))
        }
    }
}

/// One WebSocket text frame: `{"type", "id", "ts", "payload"}`.
public struct Envelope: Sendable, Equatable {
    /// Unique per sender; the key for acks and de-duplication.
    public var id: String
    /// When the sender created the message.
    public var ts: Date
    public var message: Message

    /// The envelope `type`, derived from ``message``.
    public var type: MessageType { message.type }

    public init(id: String = UUID().uuidString.lowercased(), ts: Date = Date(), message: Message) {
        self.id = id
        self.ts = ts
        self.message = message
    }
}
