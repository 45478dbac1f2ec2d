import Foundation
import Testing

@testable import ResticManagerProtocol

@Suite("Golden messages: Go-written JSON ↔ Swift values")
struct GoldenMessageTests {
    @Test("every message type has a golden fixture")
    func coversEveryType() {
        #expect(Set(Golden.all.map(\.expected.type)) == Set(MessageType.allCases))
    }

    @Test("decodes the Go fixture to the expected value", arguments: Golden.all)
    func decodes(_ golden: Golden) throws {
        let decoded = try EnvelopeCodec.decode(golden.json)
        #expect(decoded == golden.expected)
        #expect(
            decoded.type.rawValue == (try rawText(in: golden.json, at: ["type"]))?.dropFirst().dropLast().description
        )
    }

    @Test("encodes to the shape Go writes", arguments: Golden.all)
    func encodes(_ golden: Golden) throws {
        let encoded = EnvelopeCodec.encode(golden.expected)
        try expectSameJSONShape(encoded, golden.json)
        for path in golden.rawPaths {
            let expectedText = try #require(try rawText(in: golden.json, at: path))
            #expect(try rawText(in: encoded, at: path) == expectedText)
        }
        // An independent parser must accept the output too.
        #expect((try? JSONSerialization.jsonObject(with: Data(encoded.utf8))) != nil)
    }

    @Test("decode ∘ encode is the identity on decoded values", arguments: Golden.all)
    func roundTrips(_ golden: Golden) throws {
        let decoded = try EnvelopeCodec.decode(golden.json)
        let again = try EnvelopeCodec.decode(EnvelopeCodec.encode(decoded))
        #expect(again == decoded)
    }

    @Test("Data and byte-array overloads decode alike", arguments: Golden.all)
    func byteOverloads(_ golden: Golden) throws {
        #expect(try EnvelopeCodec.decode(Data(golden.json.utf8)) == golden.expected)
        #expect(try EnvelopeCodec.decode(Array(golden.json.utf8)) == golden.expected)
    }

    @Test("the restic summary line travels as stats byte for byte")
    func resticSummaryVerbatim() throws {
        let fixture = try #require(Golden.all.first { $0.name.hasPrefix("job.finished with") })
        let envelope = try EnvelopeCodec.decode(fixture.json)
        guard case .jobFinished(let payload) = envelope.message else {
            Issue.record("expected job.finished")
            return
        }
        #expect(payload.stats?.text == resticSummaryLine)
        #expect(EnvelopeCodec.encode(envelope).contains(#""stats":"# + resticSummaryLine + #"}}"#))
    }

    @Test("the summary line matches the reference file, when it is available")
    func resticSummaryMatchesReferenceFile() throws {
        let path = "/work/shared/reference/restic-0.14-json/backup1.jsonl"
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let summary = contents.split(separator: "\n").last { $0.contains(#""message_type":"summary""#) }
        #expect(summary.map(String.init) == resticSummaryLine)
    }

    @Test("raw JSON keeps whitespace, escapes and nesting exactly")
    func rawVerbatim() throws {
        let raw = #"[ {"a" : [1, [2, [3, {"b":"\u00e9\n\"x\""}]]]} ,null, -1.5e+10 ]"#
        let json =
            #"{"type":"job.finished","id":"x","ts":"2026-05-01T00:00:00Z","payload":{"job_id":"j","status":"failed","exit_code":3,"finished_at":"2026-05-01T00:00:00Z","stats":"#
            + raw + "}}"
        let envelope = try EnvelopeCodec.decode(json)
        guard case .jobFinished(let payload) = envelope.message else {
            Issue.record("expected job.finished")
            return
        }
        #expect(payload.stats?.text == raw)
        let encoded = EnvelopeCodec.encode(envelope)
        #expect(try rawText(in: encoded, at: ["payload", "stats"]) == raw)
    }

    @Test("stats: null is kept as the text null, as Go's json.RawMessage does")
    func rawNull() throws {
        let json =
            #"{"type":"job.finished","id":"x","ts":"2026-05-01T00:00:00Z","payload":{"job_id":"j","status":"failed","exit_code":1,"finished_at":"2026-05-01T00:00:00Z","stats":null}}"#
        let envelope = try EnvelopeCodec.decode(json)
        guard case .jobFinished(let payload) = envelope.message else {
            Issue.record("expected job.finished")
            return
        }
        #expect(payload.stats?.isNull == true)
        #expect(EnvelopeCodec.encode(envelope).contains(#""stats":null"#))
    }

    @Test("absent optional times encode as Go's zero time, never omitted")
    func zeroTimeEncoding() {
        let hello = Envelope(
            id: "h",
            ts: Date(timeIntervalSince1970: 0),
            message: .hello(
                HelloPayload(agentVersion: "1", resticVersion: "0.14.0", hostname: "h", os: "linux", arch: "amd64")
            )
        )
        #expect(
            EnvelopeCodec.encode(hello)
                == #"{"type":"hello","id":"h","ts":"1970-01-01T00:00:00Z","payload":{"protocol_version":1,"agent_version":"1","restic_version":"0.14.0","hostname":"h","os":"linux","arch":"amd64","boot_time":"0001-01-01T00:00:00Z"}}"#
        )
        let stats = Envelope(
            id: "r",
            ts: Date(timeIntervalSince1970: 0),
            message: .repoStats(
                RepoStatsPayload(sizeBytes: 1, snapshotCount: 1, dedupRatio: 1.5, lockState: "unlocked")
            )
        )
        #expect(EnvelopeCodec.encode(stats).contains(#""last_check_at":"0001-01-01T00:00:00Z","lock_state""#))
    }

    @Test("a zero time given with an offset is still absent")
    func zeroTimeWithOffset() throws {
        let json =
            #"{"type":"hello","id":"h","ts":"2026-05-01T00:00:00Z","payload":{"protocol_version":1,"boot_time":"0001-01-01T01:00:00+01:00"}}"#
        guard case .hello(let payload) = try EnvelopeCodec.decode(json).message else {
            Issue.record("expected hello")
            return
        }
        #expect(payload.bootTime == nil)
    }

    @Test("nil slices written as null by Go decode as empty and encode as []")
    func nullSlices() throws {
        let json =
            #"{"type":"snapshots.report","id":"s","ts":"2026-05-01T00:00:00Z","payload":{"snapshots":[{"id":"x","time":"2026-05-01T00:00:00Z","hostname":"h","paths":null}]}}"#
        let envelope = try EnvelopeCodec.decode(json)
        guard case .snapshotsReport(let payload) = envelope.message else {
            Issue.record("expected snapshots.report")
            return
        }
        #expect(payload.snapshots.first?.paths == [])
        #expect(EnvelopeCodec.encode(envelope).contains(#""hostname":"h","paths":[]}"#))

        let nullList = #"{"type":"ack","id":"a","ts":"2026-05-01T00:00:00Z","payload":{"ids":null}}"#
        #expect(try EnvelopeCodec.decode(nullList).message == .ack(AckPayload(ids: [])))
        let nullSchedules =
            #"{"type":"schedule.set","id":"a","ts":"2026-05-01T00:00:00Z","payload":{"version":1,"schedules":null}}"#
        #expect(
            try EnvelopeCodec.decode(nullSchedules).message
                == .scheduleSet(ScheduleSetPayload(version: 1, schedules: []))
        )
    }

    @Test("omitempty members are left out, the others always written")
    func omitEmpty() {
        let run = Envelope(
            id: "r",
            ts: Date(timeIntervalSince1970: 0),
            message: .commandRun(CommandRunPayload(jobID: "j", kind: .prune, args: [], scheduleID: ""))
        )
        #expect(EnvelopeCodec.encode(run).hasSuffix(#""payload":{"job_id":"j","kind":"prune"}}"#))
        let result = Envelope(
            id: "r",
            ts: Date(timeIntervalSince1970: 0),
            message: .commandResult(CommandResultPayload(jobID: "j", accepted: false))
        )
        #expect(EnvelopeCodec.encode(result).hasSuffix(#""payload":{"job_id":"j","accepted":false}}"#))
        let schedule = Envelope(
            id: "s",
            ts: Date(timeIntervalSince1970: 0),
            message: .scheduleSet(
                ScheduleSetPayload(
                    version: 0,
                    schedules: [
                        Schedule(id: "a", kind: .unlock, cronExpr: "@hourly", enabled: false)
                    ]
                )
            )
        )
        #expect(
            EnvelopeCodec.encode(schedule).hasSuffix(
                #""payload":{"version":0,"schedules":[{"id":"a","kind":"unlock","cron_expr":"@hourly","enabled":false}]}}"#
            )
        )
    }

    @Test("encoding escapes strings as JSON requires")
    func stringEscaping() throws {
        let payload = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} é 😀 </script>"
        let envelope = Envelope(
            id: "id \"1\"",
            ts: Date(timeIntervalSince1970: 0),
            message: .logStream(
                LogStreamLine(jobID: "j", seq: 1, ts: Date(timeIntervalSince1970: 0), stream: .stdout, payload: payload)
            )
        )
        let encoded = EnvelopeCodec.encode(envelope)
        #expect(encoded.contains(#"bell \u0007 nul \u0000 é 😀"#))
        #expect(try EnvelopeCodec.decode(encoded) == envelope)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any])
        #expect((object["payload"] as? [String: Any])?["payload"] as? String == payload)
    }

    @Test("encoding writes envelope members in the order type, id, ts, payload")
    func envelopeMemberOrder() {
        let envelope = Envelope(
            id: "a1",
            ts: date("2026-05-01T00:24:40.5Z"),
            message: .commandCancel(CommandCancelPayload(jobID: "j"))
        )
        #expect(
            EnvelopeCodec.encode(envelope)
                == #"{"type":"command.cancel","id":"a1","ts":"2026-05-01T00:24:40.5Z","payload":{"job_id":"j"}}"#
        )
    }

    @Test("a default envelope gets a lowercase UUID id and the current time")
    func envelopeDefaults() throws {
        let before = Date()
        let envelope = Envelope(message: .heartbeat(HeartbeatPayload()))
        #expect(UUID(uuidString: envelope.id) != nil)
        #expect(envelope.id == envelope.id.lowercased())
        #expect(envelope.ts >= before.addingTimeInterval(-1))
        #expect(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)) == envelope)
    }
}
