import Foundation
import Testing

@testable import ResticManagerProtocol

/// A valid envelope prefix for building payload-level cases.
private func envelope(_ type: String, _ payload: String, id: String = "m1") -> String {
    #"{"type":""# + type + #"","id":""# + id + #"","ts":"2026-05-01T00:24:40Z","payload":"# + payload + "}"
}

@Suite("Envelope decoding: refusals and Go's lenient rules")
struct EnvelopeDecodingErrorTests {
    // MARK: - Forward compatibility

    @Test("unknown envelope and payload members are ignored")
    func unknownFieldsIgnored() throws {
        let json =
            #"{"v":2,"type":"command.cancel","trace":{"a":[1,2,{"b":null}]},"id":"m1","ts":"2026-05-01T00:24:40Z","payload":{"reason":"operator","job_id":"j1","extra":[[]]},"zzz":true}"#
        #expect(try EnvelopeCodec.decode(json).message == .commandCancel(CommandCancelPayload(jobID: "j1")))
    }

    @Test("missing payload members take Go's zero values")
    func missingFieldsAreZero() throws {
        let progress = try EnvelopeCodec.decode(envelope("job.progress", #"{"job_id":"j"}"#))
        #expect(progress.message == .jobProgress(JobProgressPayload(jobID: "j")))
        let empty = try EnvelopeCodec.decode(envelope("command.result", "{}"))
        #expect(empty.message == .commandResult(CommandResultPayload(jobID: "", accepted: false)))
        // A required time Go would decode as its zero time.
        let ack = try EnvelopeCodec.decode(envelope("schedule.ack", #"{"version":3}"#))
        #expect(ack.message == .scheduleAck(ScheduleAckPayload(version: 3, appliedAt: RFC3339.goZeroTime)))
    }

    @Test("null payload members take Go's zero values")
    func nullFieldsAreZero() throws {
        let json = envelope(
            "repo.stats",
            #"{"size_bytes":null,"snapshot_count":null,"dedup_ratio":null,"last_check_at":null,"last_check_status":null,"lock_state":null}"#
        )
        #expect(
            try EnvelopeCodec.decode(json).message
                == .repoStats(RepoStatsPayload(sizeBytes: 0, snapshotCount: 0, dedupRatio: 0, lockState: ""))
        )
        let strings = envelope("command.run", #"{"job_id":"j","kind":"backup","args":["/a",null]}"#)
        #expect(
            try EnvelopeCodec.decode(strings).message
                == .commandRun(CommandRunPayload(jobID: "j", kind: .backup, args: ["/a", ""]))
        )
    }

    @Test("with duplicate member names the last one wins, as in Go")
    func duplicateKeys() throws {
        let json =
            #"{"type":"command.cancel","id":"first","id":"m2","ts":"2026-05-01T00:24:40Z","payload":{"job_id":"a","job_id":"b"}}"#
        let decoded = try EnvelopeCodec.decode(json)
        #expect(decoded.id == "m2")
        #expect(decoded.message == .commandCancel(CommandCancelPayload(jobID: "b")))
    }

    @Test("member names written with escapes still match")
    func escapedKeys() throws {
        let json =
            #"{"\u0074ype":"command.cancel","id":"m1","ts":"2026-05-01T00:24:40Z","payload":{"job\u005fid":"j"}}"#
        #expect(try EnvelopeCodec.decode(json).message == .commandCancel(CommandCancelPayload(jobID: "j")))
    }

    @Test("whitespace around tokens is fine")
    func whitespace() throws {
        let json =
            " \n{ \"type\" : \"ack\" ,\t\"id\":\"a\", \"ts\":\"2026-05-01T00:24:40Z\",\r\n\"payload\": { \"ids\" : [ \"x\" ] } }\n"
        #expect(try EnvelopeCodec.decode(json).message == .ack(AckPayload(ids: ["x"])))
    }

    // MARK: - Envelope refusals

    @Test("an unknown type is refused with its id, as unknown_type")
    func unknownType() {
        let error = decodingError(envelope("job.paused", "{}", id: "x1"))
        #expect(error == .unknownType("job.paused", id: "x1"))
        #expect(error?.errorCode == .unknownType)
        #expect(error?.id == "x1")
        #expect(
            error?.errorPayload
                == ErrorPayload(code: .unknownType, message: #"unknown message type "job.paused""#, refID: "x1")
        )
    }

    @Test(
        "malformed JSON is refused as bad_message without an id",
        arguments: [
            "", "   ", "{", #"{"type":"ack""#, #"{"type":"ack",}"#, "not json", #"{"id":"m1"} trailing"#,
            #"{'id':'m1'}"#, #"{"id":"m1","ts":"2026-05-01T00:24:40Z","payload":{"ids":[1,]}}"#,
        ]
    )
    func malformed(_ json: String) {
        let error = decodingError(json)
        guard case .malformedJSON = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(error?.errorCode == .badMessage)
        #expect(error?.id == nil)
    }

    @Test("a frame that is not an object is refused", arguments: ["[]", "null", "42", #""hello""#])
    func notAnObject(_ json: String) {
        let error = decodingError(json)
        guard case .malformedJSON(let reason) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("expected a JSON object"))
    }

    @Test("missing envelope members are named, with the id when known")
    func missingMembers() {
        expectDecodingError(#"{"type":"ack","ts":"2026-05-01T00:24:40Z","payload":{}}"#, .missingField("id", id: nil))
        expectDecodingError(
            #"{"id":null,"type":"ack","ts":"2026-05-01T00:24:40Z","payload":{}}"#,
            .missingField("id", id: nil)
        )
        expectDecodingError(#"{"id":"m1","ts":"2026-05-01T00:24:40Z","payload":{}}"#, .missingField("type", id: "m1"))
        expectDecodingError(#"{"type":"ack","id":"m1","payload":{}}"#, .missingField("ts", id: "m1"))
        expectDecodingError(
            #"{"type":"ack","id":"m1","ts":"2026-05-01T00:24:40Z"}"#,
            .missingField("payload", id: "m1")
        )
        expectDecodingError(#"{"type":null,"id":"m1","ts":null,"payload":null}"#, .missingField("type", id: "m1"))
        expectDecodingError(#"{"type":"ack","id":"m1","ts":null,"payload":null}"#, .missingField("ts", id: "m1"))
        expectDecodingError(
            #"{"type":"ack","id":"m1","ts":"2026-05-01T00:24:40Z","payload":null}"#,
            .missingField("payload", id: "m1")
        )
        #expect(EnvelopeDecodingError.missingField("ts", id: "m1").errorCode == .badMessage)
    }

    @Test(
        "an id must be a non-empty string of at most 128 bytes",
        arguments: [#""""#, "42", "true", #"["a"]"#, "\"" + String(repeating: "x", count: 129) + "\""]
    )
    func badID(_ id: String) {
        let error = decodingError(#"{"type":"ack","id":"# + id + #","ts":"2026-05-01T00:24:40Z","payload":{}}"#)
        guard case .malformedJSON(let reason) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("id: "))
    }

    @Test("an id of exactly 128 bytes is fine")
    func longestID() throws {
        let id = String(repeating: "y", count: 128)
        #expect(try EnvelopeCodec.decode(envelope("ack", #"{"ids":[]}"#, id: id)).id == id)
    }

    @Test("a type that is not a string is refused")
    func typeNotString() {
        let error = decodingError(#"{"type":7,"id":"m1","ts":"2026-05-01T00:24:40Z","payload":{}}"#)
        #expect(error == .malformedJSON(reason: "type: expected string, found number"))
    }

    @Test(
        "a bad ts is refused with the field named and the id kept",
        arguments: [
            (#""yesterday""#, #"ts: expected RFC 3339 time, found "yesterday""#),
            (#""2026-13-01T00:00:00Z""#, #"ts: expected RFC 3339 time, found "2026-13-01T00:00:00Z""#),
            ("1777591480", "ts: expected RFC 3339 time string, found number"),
        ]
    )
    func badTimestamp(_ ts: String, _ reason: String) {
        expectDecodingError(
            #"{"type":"heartbeat","id":"m1","ts":"# + ts + #","payload":{}}"#,
            .badPayload(type: .heartbeat, id: "m1", reason: reason)
        )
    }

    @Test("a payload that is not an object is refused", arguments: ["[]", #""{}""#, "1", "false"])
    func payloadNotObject(_ payload: String) {
        let error = decodingError(envelope("heartbeat", payload))
        guard case .badPayload(.heartbeat, "m1", let reason) = error else {
            Issue.record("expected badPayload, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("payload: expected object, found "))
    }

    @Test("frames over 1 MiB are refused before parsing")
    func tooBig() {
        let padding = String(repeating: " ", count: FrameLimits.maxFrameBytes)
        let error = decodingError(envelope("ack", #"{"ids":[]}"#) + padding)
        #expect(error == .malformedJSON(reason: "message larger than 1048576 bytes"))
    }

    // MARK: - Payload refusals

    @Test(
        "payload fields of the wrong shape are named in the reason",
        arguments: [
            ("log.stream", #"{"job_id":"j","seq":"42"}"#, "payload.seq: expected integer, found string"),
            ("log.stream", #"{"job_id":"j","seq":4.5}"#, #"payload.seq: expected integer, found "4.5""#),
            ("log.stream", #"{"job_id":"j","seq":1e3}"#, #"payload.seq: expected integer, found "1e3""#),
            ("log.stream", #"{"job_id":"j","seq":9223372036854775808}"#, "payload.seq: integer out of range"),
            ("log.stream", #"{"job_id":7}"#, "payload.job_id: expected string, found number"),
            (
                "log.stream", #"{"job_id":"j","seq":1,"ts":"2026-05-01T00:00:00Z","stream":"stdin"}"#,
                #"payload.stream: unknown value "stdin" (expected one of "stdout", "stderr", "event")"#
            ),
            ("log.stream", #"{"job_id":"j","seq":1,"ts":"now"}"#, #"payload.ts: expected RFC 3339 time, found "now""#),
            (
                "job.progress", #"{"job_id":"j","percent_done":"half"}"#,
                "payload.percent_done: expected number, found string"
            ),
            ("job.progress", #"{"job_id":"j","percent_done":1e999}"#, "payload.percent_done: number out of range"),
            ("command.result", #"{"job_id":"j","accepted":"yes"}"#, "payload.accepted: expected boolean, found string"),
            (
                "command.run", #"{"job_id":"j","kind":"backup","args":"/srv"}"#,
                "payload.args: expected array of strings, found string"
            ),
            (
                "command.run", #"{"job_id":"j","kind":"backup","args":["/srv",1]}"#,
                "payload.args[1]: expected string, found number"
            ),
            (
                "command.run", #"{"job_id":"j"}"#,
                #"payload.kind: missing (expected one of "backup", "forget", "prune", "check", "unlock", "init", "restore")"#
            ),
            (
                "job.started", #"{"job_id":"j","kind":"check","trigger":"cron"}"#,
                #"payload.trigger: unknown value "cron" (expected one of "manual", "schedule", "api")"#
            ),
            (
                "schedule.set", #"{"version":1,"schedules":[{"id":"a","kind":"backup"},{"id":"b","kind":"backupz"}]}"#,
                #"payload.schedules[1].kind: unknown value "backupz" (expected one of "backup", "forget", "prune", "check", "unlock", "init", "restore")"#
            ),
            (
                "schedule.set", #"{"version":1,"schedules":[{"id":"a","kind":"backup","enabled":1}]}"#,
                "payload.schedules[0].enabled: expected boolean, found number"
            ),
            ("schedule.set", #"{"version":1,"schedules":[7]}"#, "payload.schedules[0]: expected object, found number"),
            ("snapshots.report", #"{"snapshots":{}}"#, "payload.snapshots: expected array of objects, found object"),
            ("repo.stats", #"{"snapshot_count":true}"#, "payload.snapshot_count: expected integer, found boolean"),
            (
                "hello", #"{"protocol_version":1,"boot_time":12}"#,
                "payload.boot_time: expected RFC 3339 time string, found number"
            ),
        ]
    )
    func badPayload(_ type: String, _ payload: String, _ reason: String) throws {
        let messageType = try #require(MessageType(rawValue: type))
        expectDecodingError(envelope(type, payload), .badPayload(type: messageType, id: "m1", reason: reason))
    }

    @Test("reasons never echo more than 64 characters of input")
    func reasonsAreCapped() throws {
        let long = String(repeating: "A", count: 10_000)
        let cases = [
            #"{"type":"heartbeat","id":"m1","ts":""# + long + #"","payload":{}}"#,
            envelope("log.stream", #"{"job_id":"j","seq":1,"ts":"2026-05-01T00:00:00Z","stream":""# + long + #""}"#),
            envelope(long, "{}"),
            envelope("log.stream", #"{"job_id":"j","seq":1.5"# + String(repeating: "0", count: 10_000) + "}"),
        ]
        for json in cases {
            let error = try #require(decodingError(json))
            #expect(error.description.count < 250, "\(error.description.count) characters")
            #expect(error.description.contains("…"))
        }
        guard case .unknownType(let name, _) = decodingError(envelope(long, "{}")) else {
            Issue.record("expected unknownType")
            return
        }
        #expect(name.count == 65)
    }

    @Test("control characters in quoted input are escaped, keeping reasons on one line")
    func reasonsStayOnOneLine() throws {
        let error = try #require(decodingError(#"{"type":"heartbeat","id":"m1","ts":"bad\nline\u0007","payload":{}}"#))
        #expect(!error.description.contains("\n"))
        #expect(error.description.contains(#"bad\nline\u{7}"#))
    }

    @Test("descriptions are readable")
    func descriptions() {
        #expect(
            EnvelopeDecodingError.malformedJSON(reason: "unexpected end of input at offset 3").description
                == "malformed message: unexpected end of input at offset 3"
        )
        #expect(
            EnvelopeDecodingError.badPayload(type: .logStream, id: "m", reason: "payload.seq: x").description
                == "bad log.stream message: payload.seq: x"
        )
        #expect(EnvelopeDecodingError.missingField("id", id: nil).description == #"missing envelope field "id""#)
    }

    // MARK: - Hostile input

    @Test("nesting deeper than 64 levels is refused, not a crash", arguments: [65, 1_000, 100_000])
    func deepNesting(_ depth: Int) {
        let stats = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let json = envelope("job.finished", #"{"job_id":"j","status":"failed","exit_code":1,"stats":"# + stats + "}")
        let error = decodingError(json)
        guard case .malformedJSON(let reason) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("nesting deeper than 64 levels"))
    }

    @Test("nesting up to the cap is accepted")
    func nestingAtTheCap() throws {
        // The envelope and payload objects are two levels; 62 more reach 64.
        let stats = String(repeating: "[", count: 62) + String(repeating: "]", count: 62)
        let json = envelope("job.finished", #"{"job_id":"j","status":"failed","exit_code":1,"stats":"# + stats + "}")
        guard case .jobFinished(let payload) = try EnvelopeCodec.decode(json).message else {
            Issue.record("expected job.finished")
            return
        }
        #expect(payload.stats?.text == stats)
    }

    @Test("invalid UTF-8 in a byte frame is replaced, not a crash")
    func invalidUTF8() throws {
        var bytes = Array(
            envelope(
                "log.stream",
                #"{"job_id":"j","seq":1,"ts":"2026-05-01T00:00:00Z","stream":"stdout","payload":"ab"}"#
            ).utf8
        )
        // The last "a" is the first byte of the "ab" payload value.
        let payloadStart = try #require(bytes.lastIndex(of: UInt8(ascii: "a")))
        bytes[payloadStart + 1] = 0xFF
        guard case .logStream(let line) = try EnvelopeCodec.decode(bytes).message else {
            Issue.record("expected log.stream")
            return
        }
        #expect(line.payload == "a\u{FFFD}")
    }
}
