import Foundation
import GRDB
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

@Suite struct OutboxFrameTests {
    /// A restic summary line as restic might print it, with spacing and
    /// number forms that any re-encoding would change.
    static let summaryLine =
        #"{"message_type":"summary", "files_new" : 2,"data_added":1.0e3,"total_duration":1.50,"#
        + #""snapshot_id":"ab\u0063\/d","x":-0,"big":18446744073709551616 }"#

    @Test func aQueuedFrameIsTheEnvelopeCodecsOutputWithStatsByteForByte() async throws {
        let store = try AgentStateStore.inMemory()
        let stats = try RawJSON(text: Self.summaryLine)
        let date = Date(timeIntervalSince1970: 1_700_000_000.125)
        try await store.finishJob(id: "j1", status: .succeeded, exitCode: 0, error: nil, stats: stats, at: date)
        let entry = try #require(try await store.outbox().first)
        let envelope = try EnvelopeCodec.decode(entry.frame)
        #expect(entry.frame == EnvelopeCodec.encode(envelope))
        #expect(entry.frame.contains(#","stats":"# + Self.summaryLine + "}"))
        guard case .jobFinished(let finished) = envelope.message else {
            Issue.record("expected job.finished")
            return
        }
        #expect(finished.stats?.text == Self.summaryLine)
        #expect((envelope.id, envelope.ts) == (entry.id, date))
    }

    /// The previous release stored the payload alone (its JSONEncoder text)
    /// and spliced the envelope around it when sending.
    @Test func anUpgradedAgentReplaysItsOldOutboxUnchanged() async throws {
        let queue = try DatabaseQueue()
        try StateMigrations.migrator.migrate(queue, upTo: "v1")
        let created = Date(timeIntervalSince1970: 1_700_000_000.25)
        let messages: [(id: String, message: Message, jobID: String?)] = [
            ("old-1", .jobStarted(JobStartedPayload(jobID: "j1", kind: .backup, startedAt: created)), "j1"),
            ("old-2", .logStream(LogStreamLine(jobID: "j1", seq: 1, ts: created, stream: .stdout, payload: "a \"b\" /c")),
             "j1"),
            ("old-3", .commandResult(CommandResultPayload(jobID: "j2", accepted: true)), nil),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func oldPayload(_ message: Message) throws -> String {
            let data: Data =
                switch message {
                case .jobStarted(let p): try encoder.encode(p)
                case .logStream(let p): try encoder.encode(p)
                case .commandResult(let p): try encoder.encode(p)
                default: Data()
                }
            return String(decoding: data, as: UTF8.self)
        }
        let rows = try messages.map {
            (id: $0.id, type: $0.message.type.rawValue, payload: try oldPayload($0.message), jobID: $0.jobID)
        }
        try await queue.write { db in
            for row in rows {
                try db.execute(
                    sql: "INSERT INTO outbox (id, type, payload, job_id, created_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [row.id, row.type, row.payload, row.jobID, created])
            }
            // An acked entry leaves a gap in seq, as in the field.
            try db.execute(sql: "DELETE FROM outbox WHERE id = 'old-3'")
        }
        let expectedFrames = rows.prefix(2).map { row in
            #"{"type":""# + row.type + #"","id":""# + row.id + #"","ts":"2023-11-14T22:13:20.25Z","payload":"# + row.payload
                + "}"
        }

        let store = try AgentStateStore(queue)
        let replayed = try await store.outbox()
        #expect(replayed.map(\.id) == ["old-1", "old-2"])
        #expect(replayed.map(\.frame) == expectedFrames)
        #expect(try replayed.map { try EnvelopeCodec.decode($0.frame).message } == messages.prefix(2).map(\.message))
        #expect(try replayed.map { try EnvelopeCodec.decode($0.frame).ts } == [created, created])
        #expect(try await store.activeJobIDs() == ["j1"])

        // New messages queue behind the old ones, and acks still find them.
        try await store.enqueue([.commandResult(CommandResultPayload(jobID: "j3", accepted: true))])
        let all = try await store.outbox()
        #expect(all.map(\.id).prefix(2) == ["old-1", "old-2"])
        #expect(all.map(\.seq) == all.map(\.seq).sorted() && Set(all.map(\.seq)).count == 3)
        #expect(try await store.acknowledge(ids: ["old-1", "old-2"]) == 2)
        #expect(try await store.outbox().map(\.type) == [.commandResult])
    }
}
