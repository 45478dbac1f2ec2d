import Foundation
import ResticManagerCrypto
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent
@testable import ResticManagerServer

/// SPEC §6 and docs/decisions.md: raw JSON (`stats`) is carried byte for
/// byte. From restic's summary line through the agent's interpreter and
/// outbox, the frame the agent sends, the server's decoder and ingest, to
/// the stored job row.
@Suite struct StatsPassThroughTests {
    @Test func aSummaryLineReachesTheServersJobRowUnchanged() async throws {
        let summaryLine =
            #"{"message_type":"summary", "files_new" : 2,"data_added":1.0e3,"total_duration":1.50,"#
            + #""snapshot_id":"ab\u0063\/d","x":-0,"big":18446744073709551616 }"#

        let database = try await AppDatabase.forTest()
        let token = Tokens.issue(.enrollment)
        _ = try await database.createEnrollmentToken(
            tokenHash: token.hash, note: "", expiresAt: Date().addingTimeInterval(60), replaceHostID: nil, by: .system)
        let host = try #require(
            try await database.enroll(
                enrollmentTokenHash: token.hash, hostname: "a", os: "linux", arch: "amd64", name: nil,
                agentTokenHash: Tokens.issue(.agent).hash, ip: "")?.id)
        let job = try await database.createJob(
            hostID: host, scheduleID: nil, kind: .backup, trigger: .manual, args: ["/etc"], expiresAfter: .seconds(60),
            by: .system)

        // The agent: restic's stdout line, the interpreter, the outbox.
        var interpreter = ResticOutputInterpreter(
            jobID: job.id.rawValue, scrubber: SecretScrubber(secrets: ["hunter2"]), progressInterval: .seconds(1),
            startedAt: .now)
        _ = interpreter.consume(ChildOutputLine(stream: .stdout, text: summaryLine), at: .now)
        #expect(interpreter.summary?.text == summaryLine)
        let store = try AgentStateStore.inMemory()
        try await store.finishJob(
            id: job.id.rawValue, status: .succeeded, exitCode: 0, error: nil, stats: interpreter.summary)
        let frame = try #require(try await store.outbox().first?.frame)
        #expect(frame.contains(#""stats":"# + summaryLine + "}"))

        // The server: the frame as sent, decoded and ingested.
        let envelope = try EnvelopeCodec.decode(frame)
        _ = try await database.ingest(hostID: host, envelopes: [envelope])
        let stored = try #require(try await database.job(id: job.id))
        #expect(stored.stats == summaryLine)
        #expect(Array(stored.stats?.utf8 ?? "".utf8) == Array(summaryLine.utf8))
    }
}
