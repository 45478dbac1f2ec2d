import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

/// Captured restic 0.14 output (see /work/shared/FACTS.md).
enum ResticFixtures {
    static let directory = "/work/shared/reference/restic-0.14-json"
    static var available: Bool { FileManager.default.fileExists(atPath: directory + "/backup2.jsonl") }
    static let skipReason: Comment = "restic 0.14 fixtures missing at /work/shared/reference/restic-0.14-json"

    static func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}

/// Feeds lines to an interpreter as if they arrived `spacing` apart.
private func interpret(
    stdout: [String],
    stderr: [String] = [],
    spacing: Duration = .milliseconds(100),
    interval: Duration = .milliseconds(500),
    secrets: [String] = []
) -> (events: [JobEvent], interpreter: ResticOutputInterpreter) {
    let start = ContinuousClock.now
    var interpreter = ResticOutputInterpreter(
        jobID: "job-7",
        scrubber: SecretScrubber(secrets: secrets),
        progressInterval: interval,
        startedAt: start
    )
    var events: [JobEvent] = []
    var now = start
    for line in stderr {
        now += spacing
        events += interpreter.consume(ChildOutputLine(stream: .stderr, text: line), at: now)
    }
    for line in stdout {
        now += spacing
        events += interpreter.consume(ChildOutputLine(stream: .stdout, text: line), at: now)
    }
    events += interpreter.finish(at: now + spacing)
    return (events, interpreter)
}

private func progressEvents(_ events: [JobEvent]) -> [JobProgressPayload] {
    events.compactMap { if case .progress(let progress) = $0 { progress } else { nil } }
}

private func logEvents(_ events: [JobEvent]) -> [(LogStreamKind, String)] {
    events.compactMap { if case .log(let stream, let text) = $0 { (stream, text) } else { nil } }
}

@Suite("restic output", .enabled(if: ResticFixtures.available, ResticFixtures.skipReason))
struct ResticOutputTests {
    @Test func backupStatusLinesAreThrottledAndTheSummaryIsKeptVerbatim() throws {
        let lines = try ResticFixtures.lines("backup2.jsonl")
        let (events, interpreter) = interpret(stdout: lines, spacing: .milliseconds(100))

        // 10 status lines 100 ms apart: one progress per 500 ms, plus the
        // final one built from the summary.
        let progress = progressEvents(events)
        #expect(progress.count == 4)
        #expect(progress.allSatisfy { $0.jobID == "job-7" })
        #expect(progress[0].totalBytes == 60_000_000)
        #expect(progress[1].bytesDone == 135_058_468 && progress[1].filesDone == 5 && progress[1].etaSeconds == 2)
        #expect(progress.last?.percentDone == 1)
        #expect(progress.last?.bytesDone == 240_600_020 && progress.last?.totalFiles == 9)

        // Only the first status line is logged (one per 10 s), then the summary.
        let logs = logEvents(events)
        #expect(logs.count == 2)
        #expect(logs.first?.0 == .event && logs.first?.1 == lines.first)
        #expect(logs.last?.0 == .event && logs.last?.1 == lines.last)
        #expect(interpreter.summary?.text == lines.last)
        #expect(interpreter.readErrorCount == 0)
    }

    @Test func noProgressIsEverCloserThanTheInterval() throws {
        let lines = try ResticFixtures.lines("backup2.jsonl")
        // Lines arriving faster than the interval: at most 2 a second.
        let (events, _) = interpret(stdout: lines, spacing: .milliseconds(30), interval: .milliseconds(500))
        // 11 lines in 330 ms: the first status and the final summary progress.
        #expect(progressEvents(events).count == 2)
        #expect(progressEvents(events).last?.percentDone == 1)
    }

    @Test func statusLinesAreLoggedOncePerTenSeconds() throws {
        let status = try ResticFixtures.lines("backup2.jsonl")[1]
        let (events, _) = interpret(stdout: Array(repeating: status, count: 60), spacing: .seconds(1))
        // 60 lines a second apart: logged at 0, 10, 20, 30, 40, 50 s.
        #expect(logEvents(events).count == 6)
        #expect(progressEvents(events).count == 60)
    }

    @Test func theLastStatusIsDeliveredWhenNoSummaryFollows() throws {
        let statusLines = try ResticFixtures.lines("backup2.jsonl").dropLast()
        let (events, _) = interpret(stdout: Array(statusLines), spacing: .milliseconds(30))
        let progress = progressEvents(events)
        #expect(progress.count == 2)
        #expect(progress.last?.bytesDone == 238_225_903)
    }

    @Test func verboseStatusLinesAreEvents() throws {
        let lines = try ResticFixtures.lines("backup3-verbose.jsonl")
        let (events, _) = interpret(stdout: lines)
        let logs = logEvents(events)
        #expect(logs.count == 6)  // first status, 4 verbose_status, summary; scan_finished is within 10 s
        #expect(logs.allSatisfy { $0.0 == .event })
    }

    @Test func readErrorsAreCountedAndMapToAnIncompleteSnapshot() throws {
        let stdout = try ResticFixtures.lines("backup5-readerror.jsonl")
        let stderr = try ResticFixtures.lines("backup5-readerror.stderr")
        let (events, interpreter) = interpret(stdout: stdout, stderr: stderr)
        #expect(interpreter.readErrorCount == 1)
        let logs = logEvents(events)
        #expect(logs.contains { $0.0 == .event && $0.1.contains(#""message_type":"error""#) })
        #expect(logs.contains { $0.0 == .stderr && $0.1 == "Warning: at least one source file could not be read" })

        let outcome = ResticOutcomeMapper.outcome(
            kind: .backup,
            termination: .exited(3),
            stopReason: nil,
            summary: interpreter.summary,
            readErrorCount: interpreter.readErrorCount,
            stderrTail: interpreter.stderrTail,
            repositoryURL: "/srv/repo"
        )
        #expect(outcome.status == .succeeded)
        #expect(outcome.exitCode == 3)
        #expect(outcome.error == "1 file could not be read; the snapshot is incomplete")
        #expect(outcome.stats?.text == stdout.last)
    }

    @Test func exitThreeOnOtherKindsIsAFailure() {
        let outcome = ResticOutcomeMapper.outcome(
            kind: .check,
            termination: .exited(3),
            stopReason: nil,
            summary: nil,
            readErrorCount: 0,
            stderrTail: [],
            repositoryURL: "/r"
        )
        #expect(outcome.status == .failed && outcome.error == "restic exited with code 3")
        #expect(
            ResticOutcomeMapper.incompleteSnapshotMessage(readErrorCount: 4)
                == "4 files could not be read; the snapshot is incomplete"
        )
    }

    @Test func aMissingSourcePathIsAPlainStderrLine() throws {
        let (events, interpreter) = interpret(
            stdout: try ResticFixtures.lines("backup4-err.jsonl"),
            stderr: try ResticFixtures.lines("backup4.err")
        )
        #expect(logEvents(events).first! == (.stderr, "/srv/example/nonexistent does not exist, skipping"))
        #expect(interpreter.summary != nil)
    }

    @Test func forgetOutputIsOneEvent() throws {
        let lines = try ResticFixtures.lines("forget.json")
        let (events, interpreter) = interpret(stdout: lines)
        #expect(logEvents(events).map(\.0) == [.event])
        #expect(interpreter.summary == nil)
        #expect(progressEvents(events).isEmpty)
    }

    @Test func plainTextCommandsAreStdoutLines() throws {
        let lines = try ResticFixtures.lines("check.txt")
        let (events, _) = interpret(stdout: lines)
        #expect(logEvents(events).map(\.0) == Array(repeating: .stdout, count: lines.count))
        #expect(logEvents(events).last?.1 == "no errors were found")
    }

    @Test func snapshotsAndStatsParse() throws {
        let text = try String(contentsOfFile: ResticFixtures.directory + "/snapshots.json", encoding: .utf8)
        let snapshots = try RepositoryReporter.parseSnapshots(text)
        #expect(snapshots.count == 4)
        #expect(snapshots[0].id == "a289bea04a1097c8455a2ddd110cd8405eb8f32705ed5b7127cddc934715f380")
        #expect(
            snapshots[0].hostname == "vm" && snapshots[0].paths == ["/srv/example/data"] && snapshots[0].tags.isEmpty
        )
        #expect(snapshots[0].time == RFC3339.parse("2026-11-29T02:22:35.900189503Z"))
        #expect(snapshots[0].sizeBytes == nil)

        let raw = try String(contentsOfFile: ResticFixtures.directory + "/stats-raw.json", encoding: .utf8)
        let restore = try String(contentsOfFile: ResticFixtures.directory + "/stats.json", encoding: .utf8)
        let checkedAt = Date(timeIntervalSince1970: 1_800_000_000)
        let stats = try RepositoryReporter.parseStats(
            rawData: raw,
            restoreSize: restore,
            locks: "",
            lastCheck: (checkedAt, "succeeded")
        )
        #expect(stats.sizeBytes == 240_621_658 && stats.snapshotCount == 4)
        #expect(abs(stats.dedupRatio - 241_200_076.0 / 240_621_658.0) < 1e-12)
        #expect(stats.lockState == "unlocked" && stats.lastCheckAt == checkedAt && stats.lastCheckStatus == "succeeded")

        let locked = try RepositoryReporter.parseStats(
            rawData: raw,
            restoreSize: restore,
            locks: "a65f948727c8d0501fa641bbc359cabbe017852b7c4f73cfe9832e124316d38d\n",
            lastCheck: nil
        )
        #expect(locked.lockState == "locked" && locked.lastCheckAt == nil)
        #expect(throws: ResticCommandError.self) { try RepositoryReporter.parseSnapshots("not json") }
    }
}

@Suite("restic output without fixtures")
struct ResticOutputScrubbingTests {
    @Test func secretsAreScrubbedFromEveryLine() {
        let (events, interpreter) = interpret(
            stdout: [#"{"message_type":"verbose_status","item":"/tmp/hunter2/x"}"#, "plain hunter2 text"],
            stderr: ["Fatal: bad URL rest:http://u:p%40ss@h/", "hunter2"],
            secrets: ["hunter2", "p@ss", "p%40ss"]
        )
        for (_, text) in logEvents(events) {
            #expect(!text.contains("hunter2") && !text.contains("p@ss") && !text.contains("p%40ss"))
        }
        #expect(interpreter.stderrTail == ["Fatal: bad URL rest:http://u:***@h/", "***"])
    }

    @Test func overlongLinesAreCutToTheLimit() {
        let huge = "[" + String(repeating: #""é","#, count: 40_000) + #""x"]"#
        let (events, _) = interpret(stdout: [huge])
        let logs = logEvents(events)
        #expect(logs.count == 1)
        #expect(logs[0].0 == .stdout)  // no longer JSON, so not an event
        #expect(logs[0].1.utf8.count < ResticOutputInterpreter.maximumLogLineBytes + 100)
        #expect(logs[0].1.hasSuffix("more bytes not shown]"))
    }

    @Test(arguments: [
        (["Fatal: wrong password or no key found"], "wrong repository password"),
        (
            [
                "Fatal: unable to open config file: stat /srv/r/config: no such file or directory",
                "Is there a repository at the following location?", "/srv/r",
            ],
            "repository does not exist at /srv/r; run an init job to create it"
        ),
        (
            [
                "Fatal: unable to open config file: unexpected HTTP response (401): 401 Unauthorized",
                "Is there a repository at the following location?", "rest:http://u:***@h/",
            ],
            "the repository server rejected the credentials (HTTP 401); check the repository username and credential"
        ),
        (
            ["Fatal: create repository at /srv/r failed: config file already exists"],
            "a repository already exists at /srv/r"
        ),
        (
            [
                "unable to create lock in backend: repository is already locked by PID 27589 on vm by root (UID 0, GID 0)",
                "lock was created at 2026-11-29 03:06:47 (1.5s ago)",
            ],
            "repository is already locked by PID 27589 on vm by root (UID 0, GID 0); if no other restic is using the repository, run an unlock job to remove the stale lock"
        ),
        (["Fatal: something odd happened", "extra"], "restic failed: something odd happened"),
        (["just a line"], "restic exited with code 1: just a line"),
        ([], "restic exited with code 1"),
    ])
    func failuresAreExplained(stderr: [String], expected: String) {
        let outcome = ResticOutcomeMapper.outcome(
            kind: .backup,
            termination: .exited(1),
            stopReason: nil,
            summary: nil,
            readErrorCount: 0,
            stderrTail: stderr,
            repositoryURL: "/srv/r"
        )
        #expect(outcome == JobOutcome(status: .failed, exitCode: 1, error: expected))
    }

    @Test func unreachableServerNamesTheLocationWithoutItsPassword() {
        let error = ResticOutcomeMapper.diagnose(
            [
                #"Fatal: unable to open config file: client.Head: Head "http://h:1/config": dial tcp h:1: connect: connection refused"#,
                "Is there a repository at the following location?",
            ],
            repositoryURL: "rest:http://u:pw@h:1/"
        )
        #expect(
            error?.hasPrefix("cannot reach the repository at rest:http://u:***@h:1/: unable to open config file")
                == true
        )
    }

    @Test func cancelAndSignalOutcomes() {
        let cancelled = ResticOutcomeMapper.outcome(
            kind: .backup,
            termination: .exited(130),
            stopReason: .cancelled,
            summary: nil,
            readErrorCount: 0,
            stderrTail: ["Fatal: context canceled"],
            repositoryURL: "/r"
        )
        #expect(cancelled == JobOutcome(status: .cancelled, exitCode: 130, error: "cancelled"))
        let killed = ResticOutcomeMapper.outcome(
            kind: .prune,
            termination: .signaled(9),
            stopReason: nil,
            summary: nil,
            readErrorCount: 0,
            stderrTail: [],
            repositoryURL: "/r"
        )
        #expect(killed == JobOutcome(status: .failed, exitCode: 137, error: "restic was killed by signal 9"))
    }
}

@Suite("restic ≥ 0.16 restore output")
struct RestoreOutputTests {
    @Test("a restore's status lines are progress and its summary is the stats")
    func restoreProgress() throws {
        // As restic 0.17 prints them for `restore --json`.
        let status = #"{"message_type":"status","seconds_elapsed":1,"percent_done":0.5,"total_files":4,"files_restored":2,"total_bytes":2000,"bytes_restored":1000}"#
        let summary = #"{"message_type":"summary","seconds_elapsed":2,"total_files":4,"files_restored":4,"files_skipped":0,"total_bytes":2000,"bytes_restored":2000,"bytes_skipped":0}"#
        let (events, interpreter) = interpret(stdout: [status, summary], spacing: .seconds(1))
        let progress = progressEvents(events)
        #expect(progress.first?.filesDone == 2 && progress.first?.bytesDone == 1000 && progress.first?.totalFiles == 4)
        #expect(progress.last?.percentDone == 1 && progress.last?.filesDone == 4 && progress.last?.bytesDone == 2000)
        #expect(interpreter.summary?.text == summary)
    }
}
