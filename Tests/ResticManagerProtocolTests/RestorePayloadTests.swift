import Foundation
import Testing

@testable import ResticManagerProtocol

@Suite("Restore payloads and arguments")
struct RestorePayloadTests {
    @Test("a source's secrets never show in descriptions or mirrors")
    func sourceRedacted() {
        let source = RepositorySource(repoURL: "s3:https://s3.example/b", repoUsername: "AKIA", repoPassword: "pw-XYZ",
                                      repoCredential: "cred-XYZ")
        let run = CommandRunPayload(jobID: "j", kind: .restore, source: source)
        for text in ["\(source)", String(reflecting: source), "\(run)", String(reflecting: run),
                     "\(Mirror(reflecting: source).children.map { "\($0.value)" })"] {
            #expect(!text.contains("pw-XYZ") && !text.contains("cred-XYZ"), "\(text)")
        }
    }

    @Test("restore requests: snapshot ids, include paths and targets", arguments: [
        (RestoreRequest(snapshotID: "a289bea0", include: ["/srv"], target: "/r"), nil),
        (RestoreRequest(snapshotID: String(repeating: "ab", count: 32), target: "/r"), nil),
        (RestoreRequest(snapshotID: "latest", target: "/r"), "restore.snapshot_id"),
        (RestoreRequest(snapshotID: "--help", target: "/r"), "restore.snapshot_id"),
        (RestoreRequest(snapshotID: "A289BEA0", target: "/r"), "restore.snapshot_id"),
        (RestoreRequest(snapshotID: "a289bea", target: "/r"), "restore.snapshot_id"),
        (RestoreRequest(snapshotID: "a289bea0", include: ["srv"], target: "/r"), "restore.include[0]"),
        (RestoreRequest(snapshotID: "a289bea0", include: ["/ok", "/a\nb"], target: "/r"), "restore.include[1]"),
        (RestoreRequest(snapshotID: "a289bea0", target: "relative"), "restore.target"),
        (RestoreRequest(snapshotID: "a289bea0", target: "/r\0x"), "restore.target"),
        (RestoreRequest(snapshotID: "a289bea0", target: "/" + String(repeating: "x", count: 5000)), "restore.target"),
        (RestoreRequest(snapshotID: "a289bea0", include: Array(repeating: "/a", count: 1001), target: "/r"),
         "restore.include"),
    ] as [(RestoreRequest, String?)])
    func restoreArguments(request: RestoreRequest, field: String?) {
        #expect(RestoreArguments.problem(request)?.field == field)
    }

    @Test("folders are normalized the way restic names them")
    func normalizedFolders() {
        #expect(RestoreArguments.normalizedFolder("/") == "/")
        #expect(RestoreArguments.normalizedFolder("//srv//a/") == "/srv/a")
        #expect(RestoreArguments.normalizedFolder("/srv/a b") == "/srv/a b")
        #expect(RestoreArguments.path("/srv/a", isInside: "/srv"))
        #expect(RestoreArguments.path("/srv", isInside: "/srv"))
        #expect(!RestoreArguments.path("/srvx", isInside: "/srv"))
        #expect(RestoreArguments.path("/anything", isInside: "/"))
    }

    @Test("a node's encoded size is what it adds to a result frame")
    func encodedSize() throws {
        let node = SnapshotNode(name: "é\u{1}", type: "file", path: "/é\u{1}", size: 3, mode: 420)
        let empty = SnapshotLsResult(requestID: "r", path: "/")
        let one = SnapshotLsResult(requestID: "r", path: "/", nodes: [node])
        let two = SnapshotLsResult(requestID: "r", path: "/", nodes: [node, node])
        func length(_ result: SnapshotLsResult) -> Int {
            EnvelopeCodec.encode(Envelope(id: "i", ts: Date(timeIntervalSince1970: 0), message: .snapshotLsResult(result)))
                .utf8.count
        }
        #expect(length(two) - length(one) == node.encodedSize)
        #expect(length(one) - length(empty) == node.encodedSize - 1)
    }
}
