import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

@Suite("AgentMessageLimits")
struct AgentMessageLimitsTests {
    private let jobID = "0b9c5f1e-2c43-4f6a-9d7e-3a1b2c4d5e6f"

    private func refusal(_ message: Message, id: String = UUID().uuidString) -> String? {
        do {
            try AgentMessageLimits.check(Envelope(id: id, message: message))
            return nil
        } catch {
            #expect(error.errorCode == .badMessage)
            return error.description
        }
    }

    private func line(_ jobID: String, seq: Int64 = 1, payload: String = "x") -> Message {
        .logStream(LogStreamLine(jobID: jobID, seq: seq, ts: Date(), stream: .stdout, payload: payload))
    }

    @Test("well-formed messages pass, control characters in log lines included")
    func accepts() {
        #expect(refusal(line(jobID, payload: "\u{1b}[1mbold\r\n")) == nil)
        #expect(refusal(line(jobID.uppercased())) == nil)
        #expect(refusal(.repoStats(RepoStatsPayload(sizeBytes: 1, snapshotCount: 1, dedupRatio: 1, lockState: "locked")))
            == nil)
        #expect(refusal(.commandResult(CommandResultPayload(jobID: jobID, accepted: true)), id: "m-1") == nil)
    }

    @Test("ids that are not UUIDs, seq below 1, unknown lock states and long names are refused, naming the field")
    func refuses() {
        #expect(refusal(line(""))?.contains("payload.job_id") == true)
        #expect(refusal(line(String(repeating: "a", count: 1 << 20)))?.count ?? .max < 400)
        #expect(refusal(line(jobID, seq: 0))?.contains("payload.seq") == true)
        #expect(refusal(line(jobID, payload: String(repeating: "x", count: (1 << 20) + 1)))?.contains("payload.payload")
            == true)
        #expect(refusal(.repoStats(RepoStatsPayload(sizeBytes: 1, snapshotCount: 1, dedupRatio: 1, lockState: "maybe")))?
            .contains("lock_state") == true)
        let hello = HelloPayload(agentVersion: "1", resticVersion: "0.14", hostname: "h\u{0}", os: "linux", arch: "x")
        #expect(refusal(.hello(hello))?.contains("payload.hostname") == true)
        #expect(refusal(line(jobID), id: String(repeating: "i", count: 129))?.contains("id") == true)
    }
}
