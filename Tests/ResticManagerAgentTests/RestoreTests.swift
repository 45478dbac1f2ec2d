import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

/// A scratch folder with an allowed restore folder inside, removed after.
private struct Scratch: ~Copyable {
    let root: String
    let allowed: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("restore-\(UUID().uuidString)").path
        allowed = root + "/allowed"
        try FileManager.default.createDirectory(atPath: allowed, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

private func refusal(_ result: Result<String, CommandRefusal>) -> String? {
    if case .failure(let refusal) = result { return refusal.reason }
    return nil
}

@Suite("Restore targets: the host's consent")
struct RestoreTargetTests {
    @Test("no --restore-to: every restore is refused with the fixed message")
    func none() {
        #expect(refusal(RestoreTargets.none.check("/tmp/x")) == RestoreArguments.notAllowedMessage)
    }

    @Test("a new or empty folder inside is allowed, by its resolved path")
    func allowed() throws {
        let scratch = try Scratch()
        let targets = try RestoreTargets(resolving: [scratch.allowed + "/"])
        let real = try #require(targets.folders.first)
        #expect(try targets.check(scratch.allowed).get() == real)
        #expect(try targets.check(scratch.allowed + "/new/deeper").get() == real + "/new/deeper")
        #expect(try targets.check(scratch.allowed + "/./x").get() == real + "/x")
        try FileManager.default.createDirectory(atPath: scratch.allowed + "/empty", withIntermediateDirectories: false)
        #expect(try targets.check(scratch.allowed + "/empty").get() == real + "/empty")
    }

    @Test("outside, .. escapes, links out, dangling links, files and full folders are refused")
    func refused() throws {
        let scratch = try Scratch()
        let manager = FileManager.default
        let outside = scratch.root + "/outside"
        try manager.createDirectory(atPath: outside, withIntermediateDirectories: false)
        try manager.createSymbolicLink(atPath: scratch.allowed + "/out", withDestinationPath: outside)
        try manager.createSymbolicLink(atPath: scratch.allowed + "/gone", withDestinationPath: scratch.root + "/nowhere")
        try manager.createDirectory(atPath: scratch.allowed + "/full", withIntermediateDirectories: false)
        manager.createFile(atPath: scratch.allowed + "/full/f", contents: Data("x".utf8))
        manager.createFile(atPath: scratch.allowed + "/file", contents: Data())
        let targets = try RestoreTargets(resolving: [scratch.allowed])
        let cases: [(String, String)] = [
            (outside + "/t", "outside the folders"),
            (scratch.allowed + "/../outside/t", "outside the folders"),
            (scratch.allowed + "/out/t", "resolves to"),
            (scratch.allowed + "/out", "resolves to"),
            (scratch.allowed + "/gone/t", "points nowhere"),
            (scratch.allowed + "/new/../../outside", "\"..\" below a folder that does not exist"),
            (scratch.allowed + "/full", "is not empty"),
            (scratch.allowed + "/file", "is not a folder"),
            ("relative", "absolute path"),
            ("/", "outside the folders"),
        ]
        for (target, reason) in cases {
            let why = refusal(targets.check(target))
            #expect(why?.contains(reason) == true, "\(target): \(why ?? "allowed")")
        }
        #expect(try manager.contentsOfDirectory(atPath: outside).isEmpty)
    }

    @Test("--restore-to must name existing folders by absolute path")
    func startupChecks() throws {
        let scratch = try Scratch()
        #expect(throws: RestoreTargetsError.notAbsolute("rel")) { try RestoreTargets(resolving: ["rel"]) }
        #expect(throws: RestoreTargetsError.missing(scratch.root + "/no")) {
            try RestoreTargets(resolving: [scratch.root + "/no"])
        }
        FileManager.default.createFile(atPath: scratch.root + "/f", contents: Data())
        #expect(throws: RestoreTargetsError.notADirectory(scratch.root + "/f")) {
            try RestoreTargets(resolving: [scratch.root + "/f"])
        }
    }

    @Test("command.run of a restore is checked before it is accepted")
    func commandValidation() throws {
        let scratch = try Scratch()
        let targets = try RestoreTargets(resolving: [scratch.allowed])
        let config = StoredConfig(repoURL: "/repo", repoPassword: "pw")
        func validate(_ run: CommandRunPayload, _ targets: RestoreTargets = targets) -> Result<AcceptedJob, CommandRefusal> {
            CommandValidation.job(for: run, config: config, schedules: StoredScheduleSet(), restoreTargets: targets)
        }
        let request = RestoreRequest(snapshotID: "a289bea0", include: ["/srv"], target: scratch.allowed + "/t")
        let accepted = try validate(CommandRunPayload(jobID: "j", kind: .restore, restore: request)).get()
        #expect(accepted.restore?.target == targets.folders[0] + "/t")
        func reason(_ run: CommandRunPayload, _ targets: RestoreTargets = targets) -> String? {
            if case .failure(let refusal) = validate(run, targets) { return refusal.reason }
            return nil
        }
        #expect(reason(CommandRunPayload(jobID: "j", kind: .restore, restore: request), .none)
                == RestoreArguments.notAllowedMessage)
        #expect(reason(CommandRunPayload(jobID: "j", kind: .restore))?.contains("snapshot_id") == true)
        #expect(reason(CommandRunPayload(jobID: "j", kind: .backup, args: ["/a"], restore: request))
                == "restore and source are only allowed on a restore job")
        let noPassword = RepositorySource(repoURL: "/other", repoPassword: "")
        #expect(reason(CommandRunPayload(jobID: "j", kind: .restore, restore: request, source: noPassword))?
            .contains("repo_password") == true)
    }
}

@Suite("restic restore and ls")
struct ResticRestoreCommandTests {
    @Test("restore arguments: the snapshot, --target, escaped --include patterns, --verify")
    func arguments() throws {
        let spec = JobSpec(
            jobID: "j", kind: .restore,
            restore: RestoreRequest(snapshotID: "a289bea0", include: ["/srv/a b", "/srv/[x]*?\\"], target: "/r/t",
                                    verify: true))
        #expect(try ResticCommandBuilder.arguments(for: spec) == [
            "restore", "a289bea0", "--json", "--target=/r/t", "--include=/srv/a b", "--include=/srv/\\[x]\\*\\?\\\\",
            "--verify",
        ])
        #expect(throws: JobSpecError.self) { try ResticCommandBuilder.arguments(for: JobSpec(jobID: "j", kind: .restore)) }
    }

    private func node(_ path: String, _ type: String = "file", size: Int = 1) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        return #"{"name":"\#(name)","type":"\#(type)","path":"\#(path)","size":\#(size),"mode":420,"mtime":"2026-12-01T22:55:17.936431479Z","struct_type":"node"}"#
    }

    private let snapshotLine =
        #"{"time":"2026-12-01T22:55:19Z","paths":["/srv"],"hostname":"vm","id":"e4908930","short_id":"e4908930","struct_type":"snapshot"}"#

    @Test("ls output becomes the folder's children; missing snapshots, paths and files are told apart")
    func listing() {
        var listing = SnapshotListing(snapshotID: "e4908930", path: "/srv/")
        for line in [snapshotLine, node("/srv", "dir"), node("/srv/a", "dir"), node("/srv/f", size: 12),
                     node("/srv/a/deeper"), "not json", "{\"struct_type\":\"other\"}"] {
            listing.consume(line)
        }
        let result = listing.result(requestID: "r")
        #expect(result.error == nil && result.path == "/srv" && !result.truncated)
        #expect(result.nodes.map(\.name) == ["a", "f"] && result.nodes[1].size == 12 && result.nodes[1].mtime != nil)

        var root = SnapshotListing(snapshotID: "e4908930", path: "/")
        root.consume(snapshotLine)
        root.consume(node("/srv", "dir"))
        #expect(root.result(requestID: "r").nodes.map(\.path) == ["/srv"])

        #expect(SnapshotListing(snapshotID: "e4908930", path: "/").result(requestID: "r").failure == .snapshotNotFound)
        var missing = SnapshotListing(snapshotID: "e4908930", path: "/nope")
        missing.consume(snapshotLine)
        #expect(missing.result(requestID: "r").failure == .pathNotFound)
        var file = SnapshotListing(snapshotID: "e4908930", path: "/srv/f")
        file.consume(snapshotLine)
        file.consume(node("/srv/f"))
        #expect(file.result(requestID: "r").failure == .notADirectory)
    }

    @Test("a listing stops at 5,000 nodes, and before a frame would pass 1 MiB")
    func truncation() {
        var many = SnapshotListing(snapshotID: "e4908930", path: "/d")
        many.consume(snapshotLine)
        many.consume(node("/d", "dir"))
        for index in 0..<6000 { many.consume(node("/d/f\(index)")) }
        let result = many.result(requestID: "r")
        #expect(result.nodes.count == SnapshotLsResult.maxNodes && result.truncated)

        var long = SnapshotListing(snapshotID: "e4908930", path: "/d")
        long.consume(snapshotLine)
        long.consume(node("/d", "dir"))
        let padding = String(repeating: "x", count: 200)
        for index in 0..<3000 { long.consume(node("/d/\(padding)\(index)")) }
        let capped = long.result(requestID: "r")
        #expect(capped.truncated && capped.nodes.count < 3000)
        let frame = EnvelopeCodec.encode(Envelope(message: .snapshotLsResult(capped)))
        #expect(frame.utf8.count < FrameLimits.maxFrameBytes)
    }
}
