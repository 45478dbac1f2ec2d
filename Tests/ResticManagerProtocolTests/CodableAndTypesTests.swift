import Foundation
import Testing

@testable import ResticManagerProtocol

@Suite("Payload Codable conformances (for JSONEncoder and friends)")
struct PayloadCodableTests {
    @Test("JSONEncoder writes the Go shape, omitempty included")
    func encoderShape() throws {
        let progress = JobProgressPayload(jobID: "j", percentDone: 0.5, filesDone: 3)
        let data = try JSONEncoder().encode(progress)
        let value = try compactJSON(String(decoding: data, as: UTF8.self), sortingMembers: true)
        #expect(
            try sameJSONShape(
                value,
                compactJSON(
                    #"{"job_id":"j","percent_done":0.5,"files_done":3,"total_files":0,"bytes_done":0,"total_bytes":0,"eta_seconds":0,"throughput_bps":0}"#,
                    sortingMembers: true
                )
            )
        )

        let started = JobStartedPayload(jobID: "j", kind: .`init`, startedAt: Date(timeIntervalSince1970: 0.5))
        let startedText = String(decoding: try JSONEncoder().encode(started), as: UTF8.self)
        #expect(
            try compactJSON(startedText, sortingMembers: true)
                == compactJSON(
                    #"{"job_id":"j","kind":"init","started_at":"1970-01-01T00:00:00.5Z"}"#,
                    sortingMembers: true
                )
        )
    }

    @Test("JSONDecoder reads Go-written payloads with Go's rules", arguments: Golden.all)
    func decoderMatchesCodec(_ golden: Golden) throws {
        let payloadText = try #require(try rawText(in: golden.json, at: ["payload"]))
        let data = Data(payloadText.utf8)
        let decoder = JSONDecoder()
        let message: Message =
            switch golden.expected.type {
            case .hello: .hello(try decoder.decode(HelloPayload.self, from: data))
            case .heartbeat: .heartbeat(try decoder.decode(HeartbeatPayload.self, from: data))
            case .configUpdate: .configUpdate(try decoder.decode(ConfigUpdatePayload.self, from: data))
            case .scheduleSet: .scheduleSet(try decoder.decode(ScheduleSetPayload.self, from: data))
            case .scheduleAck: .scheduleAck(try decoder.decode(ScheduleAckPayload.self, from: data))
            case .commandRun: .commandRun(try decoder.decode(CommandRunPayload.self, from: data))
            case .commandCancel: .commandCancel(try decoder.decode(CommandCancelPayload.self, from: data))
            case .commandResult: .commandResult(try decoder.decode(CommandResultPayload.self, from: data))
            case .jobStarted: .jobStarted(try decoder.decode(JobStartedPayload.self, from: data))
            case .jobProgress: .jobProgress(try decoder.decode(JobProgressPayload.self, from: data))
            case .jobFinished: .jobFinished(try decoder.decode(JobFinishedPayload.self, from: data))
            case .logStream: .logStream(try decoder.decode(LogStreamLine.self, from: data))
            case .snapshotsReport: .snapshotsReport(try decoder.decode(SnapshotsReportPayload.self, from: data))
            case .repoStats: .repoStats(try decoder.decode(RepoStatsPayload.self, from: data))
            case .agentUpdateAvailable:
                .agentUpdateAvailable(try decoder.decode(AgentUpdateAvailablePayload.self, from: data))
            case .snapshotLs: .snapshotLs(try decoder.decode(SnapshotLsRequest.self, from: data))
            case .snapshotLsResult: .snapshotLsResult(try decoder.decode(SnapshotLsResult.self, from: data))
            case .ack: .ack(try decoder.decode(AckPayload.self, from: data))
            case .error: .error(try decoder.decode(ErrorPayload.self, from: data))
            }
        // Raw JSON comes back compact and with its members reordered through
        // a generic decoder; compare it as JSON, ignoring member order.
        let viaCodable = EnvelopeCodec.encode(Envelope(id: "x", ts: .init(timeIntervalSince1970: 0), message: message))
        let expected = EnvelopeCodec.encode(
            Envelope(id: "x", ts: .init(timeIntervalSince1970: 0), message: golden.expected.message)
        )
        #expect(
            try sameJSONShape(compactJSON(viaCodable, sortingMembers: true), compactJSON(expected, sortingMembers: true))
        )
        if golden.rawPaths.isEmpty {
            #expect(message == golden.expected.message)
        }
    }

    @Test("JSONDecoder errors name the field and the problem")
    func decoderErrors() {
        do {
            _ = try JSONDecoder().decode(LogStreamLine.self, from: Data(#"{"job_id":"j","seq":"1"}"#.utf8))
            Issue.record("expected an error")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription == "seq: expected integer, found string")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AckPayload.self, from: Data("[1]".utf8)) }
    }

    @Test("payloads nest inside other Codable types")
    func nested() throws {
        struct JobView: Codable, Equatable {
            var id: String
            var progress: JobProgressPayload?
        }
        let view = JobView(id: "j", progress: JobProgressPayload(jobID: "j", percentDone: 0.25))
        let data = try JSONEncoder().encode(view)
        #expect(try JSONDecoder().decode(JobView.self, from: data) == view)
        let none = try JSONDecoder().decode(JobView.self, from: Data(#"{"id":"j","progress":null}"#.utf8))
        #expect(none.progress == nil)
    }
}

@Suite("Message types, enums and constants")
struct MessageTypeTests {
    @Test("wire names are exactly those of SPEC §6.1")
    func wireNames() {
        #expect(
            MessageType.allCases.map(\.rawValue) == [
                "hello", "heartbeat", "config.update", "schedule.set", "schedule.ack", "command.run", "command.cancel",
                "command.result", "job.started", "job.progress", "job.finished", "log.stream", "snapshots.report",
                "repo.stats", "agent.update_available", "snapshot.ls", "snapshot.ls.result", "ack", "error",
            ]
        )
    }

    @Test("directions follow the table in SPEC §6.1")
    func directions() {
        let fromServer: Set<MessageType> = [
            .configUpdate, .scheduleSet, .commandRun, .commandCancel, .agentUpdateAvailable, .snapshotLs, .ack,
        ]
        for type in MessageType.allCases {
            let expected: MessageDirection =
                type == .error ? .either : fromServer.contains(type) ? .serverToAgent : .agentToServer
            #expect(type.direction == expected, "\(type)")
        }
    }

    @Test("every agent message except hello, heartbeat and a browse answer waits for an ack")
    func acknowledged() {
        #expect(
            MessageType.allCases.filter(\.isAcknowledged) == [
                .scheduleAck, .commandResult, .jobStarted, .jobProgress, .jobFinished, .logStream, .snapshotsReport,
                .repoStats,
            ]
        )
    }

    @Test("enum wire values")
    func enumValues() {
        #expect(
            JobKind.allCases.map(\.rawValue) == ["backup", "forget", "prune", "check", "unlock", "init", "restore"]
        )
        #expect(JobStatus.allCases.map(\.rawValue) == ["queued", "running", "succeeded", "failed", "cancelled"])
        #expect(JobStatus.allCases.filter(\.isTerminal) == [.succeeded, .failed, .cancelled])
        #expect(JobTrigger.allCases.map(\.rawValue) == ["manual", "schedule", "api"])
        #expect(LogStreamKind.allCases.map(\.rawValue) == ["stdout", "stderr", "event"])
        #expect(
            ErrorCode.allCases.map(\.rawValue) == [
                "bad_message", "unknown_type", "forbidden", "protocol_version_unsupported", "rate_limited", "internal",
            ]
        )
    }

    @Test("constants")
    func constants() {
        #expect(ProtocolVersion.current == 1)
        #expect(ProtocolVersion.supported.contains(ProtocolVersion.current))
        #expect(CloseCode.protocolVersionUnsupported == 4002)
        #expect(CloseCode.tooManyBadMessages == 4008)
        #expect(CloseCode.messageTooBig == 1009)
        #expect(FrameLimits.maxFrameBytes == 1_048_576)
    }

    @Test("ErrorPayload keeps unknown codes and exposes known ones")
    func errorPayloadCodes() {
        #expect(ErrorPayload(code: .rateLimited, message: "slow down").code == "rate_limited")
        #expect(ErrorPayload(code: "internal", message: "").knownCode == .internal)
        #expect(ErrorPayload(code: "disk_full", message: "").knownCode == nil)
    }

    @Test("config.update never prints its secrets")
    func configRedaction() {
        let config = ConfigUpdatePayload(
            repoURL: "rest:https://h/",
            repoPassword: "hunter2-password",
            repoUsername: "u",
            repoCredential: "cred-secret"
        )
        var dumped = ""
        dump(Message.configUpdate(config), to: &dumped)
        for text in [String(describing: config), String(reflecting: config), "\(Message.configUpdate(config))", dumped]
        {
            #expect(!text.contains("hunter2-password"), "\(text)")
            #expect(!text.contains("cred-secret"), "\(text)")
        }
        #expect(String(describing: config).contains("rest:https://h/"))
        #expect(String(describing: ConfigUpdatePayload()).contains("repoPassword: nil"))
    }
}
