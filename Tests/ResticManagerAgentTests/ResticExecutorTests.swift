import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

#if canImport(Glibc)
import Glibc
import ResticManagerCore
#endif

/// Everything that runs the real restic against real repositories. One
/// restic at a time (the machine has two cores, and a cancel test's timing
/// should not depend on what else runs).
@Suite("restic integration", .serialized)
struct ResticIntegrationTests {}

private typealias Support = ResticTestSupport

extension ResticIntegrationTests {
    @Suite("JobExecutor with real restic")
    struct Executor {
        @Test func initThenBackupReportsProgressStatsAndASnapshot() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            try directory.write("data/a.txt", "hello")
            try directory.write("data/sub/b.txt", String(repeating: "restic ", count: 10_000))

            let job = JobSpec(
                jobID: "job-backup-1",
                kind: .backup,
                paths: [directory.sub("data")],
                excludes: ["*.tmp"],
                tags: ["daily"]
            )
            let (outcome, recorder) = await Support.run(job, on: repo, with: try await Support.executor())

            #expect(outcome.status == .succeeded)
            #expect(outcome.exitCode == 0)
            #expect(outcome.error == nil)
            let stats = try #require(outcome.stats)
            let summary = try #require(JSONValue.parse(stats.text))
            #expect(summary["message_type"]?.stringValue == "summary")
            #expect(summary["files_new"]?.int64Value == 2)
            let snapshotID = try #require(summary["snapshot_id"]?.stringValue)

            let progress = await recorder.progress
            #expect(!progress.isEmpty)
            #expect(progress.allSatisfy { $0.jobID == "job-backup-1" })
            #expect(progress.last?.percentDone == 1)
            #expect(progress.last?.filesDone == 2)
            let logs = await recorder.logs
            #expect(logs.first?.text.hasPrefix("[agent] restic backup --json --exclude=*.tmp --tag=daily -- ") == true)
            #expect(logs.contains { $0.stream == .event && $0.text == stats.text })

            let snapshots = try await Support.reporter().snapshots(repo)
            #expect(snapshots.count == 1)
            #expect(snapshots.first?.id.hasPrefix(snapshotID) == true)
            #expect(snapshots.first?.paths == [directory.sub("data")])
            #expect(snapshots.first?.tags == ["daily"])

            let repoStats = try await Support.repositoryStats(repo)
            #expect(repoStats.snapshotCount == 1)
            #expect(repoStats.sizeBytes > 0)
            #expect(repoStats.dedupRatio > 0)
            #expect(repoStats.lockState == "unlocked")
        }

        @Test func initTwiceSaysTheRepositoryExists() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let (outcome, _) = await Support.run(Support.job(.`init`), on: repo, with: try await Support.executor())
            #expect(outcome.status == .failed)
            #expect(outcome.exitCode == 1)
            #expect(outcome.error == "a repository already exists at \(repo.url)")
        }

        @Test func unreadableFileGivesExitCodeThreeAndAnIncompleteSnapshot() async throws {
            guard let unreadable = Support.unreadableFile() else {
                // Covered with the captured stderr in ResticOutputTests
                // (readErrorsAreCountedAndMapToAnIncompleteSnapshot).
                Issue.record("no write-only sysfs file on this machine to force a read error as root")
                return
            }
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            try directory.write("data/a.txt", "readable")

            let (outcome, recorder) = await Support.run(
                Support.job(.backup, paths: [directory.sub("data"), unreadable]),
                on: repo,
                with: try await Support.executor()
            )
            #expect(outcome.status == .succeeded)
            #expect(outcome.exitCode == 3)
            #expect(outcome.error == "1 file could not be read; the snapshot is incomplete")
            #expect(outcome.stats != nil)
            #expect(
                await recorder.logs.contains { $0.stream == .event && $0.text.contains(#""message_type":"error""#) }
            )
            #expect(try await Support.reporter().snapshots(repo).count == 1)
        }

        @Test func wrongPasswordFailsClearly() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            var repo = try await Support.initialisedRepository(in: directory)
            try directory.write("data/a.txt", "x")
            repo.password = "not the password"

            let (outcome, recorder) = await Support.run(
                Support.job(.backup, paths: [directory.sub("data")]),
                on: repo,
                with: try await Support.executor()
            )
            #expect(outcome == JobOutcome(status: .failed, exitCode: 1, error: "wrong repository password"))
            #expect(!(await recorder.allText.contains("not the password")))
            await #expect(
                throws: ResticCommandError(command: "snapshots", exitCode: 1, message: "wrong repository password")
            ) {
                try await Support.reporter().snapshots(repo)
            }
        }

        @Test func missingRepositoryFailsAndIsNotCreated() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try directory.write("data/a.txt", "x")
            let repo = RepositoryConfig(url: directory.sub("no-such-repo"), password: "pw")

            let expected = "repository does not exist at \(repo.url); run an init job to create it"
            for kind in [JobKind.backup, .check, .prune] {
                let (outcome, _) = await Support.run(
                    Support.job(kind, paths: [directory.sub("data")]),
                    on: repo,
                    with: try await Support.executor()
                )
                #expect(outcome == JobOutcome(status: .failed, exitCode: 1, error: expected), "\(kind)")
            }
            #expect(!FileManager.default.fileExists(atPath: repo.url))
            await #expect(throws: ResticCommandError(command: "stats", exitCode: 1, message: expected)) {
                try await Support.repositoryStats(repo)
            }
        }

        @Test func forgetKeepsExactlyWhatThePolicySays() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let executor = try await Support.executor()
            var lastSnapshotID = ""
            for round in 1...3 {
                try directory.write("data/file.txt", "round \(round)")
                let (outcome, _) = await Support.run(
                    Support.job(.backup, paths: [directory.sub("data")]),
                    on: repo,
                    with: executor
                )
                try #require(outcome.status == .succeeded)
                lastSnapshotID = try #require(
                    outcome.stats.flatMap { JSONValue.parse($0.text)?["snapshot_id"]?.stringValue }
                )
            }
            #expect(try await Support.reporter().snapshots(repo).count == 3)

            let (outcome, recorder) = await Support.run(
                Support.job(.forget, retention: #"{"keep_last": 1, "prune": true}"#),
                on: repo,
                with: executor
            )
            #expect(outcome.status == .succeeded)
            #expect(outcome.error == nil)
            #expect(await recorder.logs.contains { $0.stream == .event && $0.text.hasPrefix("[{") })

            let remaining = try await Support.reporter().snapshots(repo)
            #expect(remaining.count == 1)
            #expect(remaining.first?.id.hasPrefix(lastSnapshotID) == true)
        }

        @Test func forgetWithAnEmptyPolicyNeverRunsRestic() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let before = Support.fingerprint(of: repo.url)
            var job = Support.job(.forget, retention: "{}")
            job.preHook = "touch \(directory.sub("pre-hook-ran"))"
            let (outcome, recorder) = await Support.run(job, on: repo, with: try await Support.executor())
            #expect(
                outcome
                    == JobOutcome(
                        status: .failed,
                        exitCode: JobOutcome.noExitCode,
                        error: "forget with an empty retention policy would delete every snapshot"
                    )
            )
            #expect(await recorder.events.isEmpty)
            #expect(Support.fingerprint(of: repo.url) == before)
            #expect(!FileManager.default.fileExists(atPath: directory.sub("pre-hook-ran")))
        }

        @Test func checkWithReadDataSubset() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            try directory.write("data/a.txt", String(repeating: "abc", count: 100_000))
            _ = await Support.run(
                Support.job(.backup, paths: [directory.sub("data")]),
                on: repo,
                with: try await Support.executor()
            )

            let (outcome, recorder) = await Support.run(
                Support.job(.check, options: #"{"read_data_subset": "1/2"}"#),
                on: repo,
                with: try await Support.executor()
            )
            #expect(outcome == JobOutcome(status: .succeeded, exitCode: 0))
            let logs = await recorder.logs
            #expect(logs.first?.text == "[agent] restic check --read-data-subset=1/2")
            #expect(logs.contains { $0.text.contains("read group #1 of") })
            #expect(logs.contains { $0.stream == .stdout && $0.text == "no errors were found" })
        }

        @Test func unlockRemovesAStaleLock() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let restic = try await Support.restic()

            // A restic that holds a lock (waiting on stdin), then dies by
            // SIGKILL: its lock stays behind, stale.
            let marker = "stale-lock-\(UUID().uuidString.prefix(8))"
            let holder = ChildProcess(
                executable: .path("/bin/sh"),
                arguments: ["-c", #"sleep 120 | exec "$0" backup --stdin --stdin-filename "$1""#, restic.path, marker],
                environment: ResticCommandBuilder.environment(for: repo),
                timeout: .seconds(120),
                stopGrace: .seconds(5),
                stopsOnTaskCancellation: true
            )
            let holderTask = Task { try await holder.run(onLine: { _ in }) }
            // Only a finished lock file counts: restic writes it under a
            // temporary name first, and killing it then leaves no lock.
            try await Support.waitUntil("restic to create its lock") {
                ((try? FileManager.default.contentsOfDirectory(atPath: repo.url + "/locks")) ?? []).contains {
                    $0.count == 64 && $0.allSatisfy(\.isHexDigit)
                }
            }
            let resticProcess = try #require(
                Support.processes(withArgument: marker).first {
                    $0.arguments.contains("backup") && !$0.arguments.contains("-c")
                }
            )
            #expect(kill(resticProcess.pid, SIGKILL) == 0)
            holderTask.cancel()
            _ = try? await holderTask.value

            #expect(try await Support.repositoryStats(repo).lockState == "locked")
            let (outcome, recorder) = await Support.run(
                Support.job(.unlock),
                on: repo,
                with: try await Support.executor()
            )
            #expect(outcome == JobOutcome(status: .succeeded, exitCode: 0))
            #expect(await recorder.logs.contains { $0.text == "successfully removed locks" })
            #expect(try await Support.repositoryStats(repo).lockState == "unlocked")
        }

        @Test func cancelStopsABackupQuicklyAndNoSecretLeaks() async throws {
            let bigData = try Support.bigDataDirectory()
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let password = "pw-\(UUID().uuidString)"
            let repo = try await Support.initialisedRepository(in: directory, password: password)
            let marker = "cancel-\(UUID().uuidString.prefix(8))"
            var job = Support.job(.backup, paths: [bigData], options: #"{"limit_upload_kib": 8192}"#)
            job.tags = [marker]
            job.postHook = "echo \"$RM_JOB_STATUS $RM_EXIT_CODE\" > \(directory.sub("post-hook.txt"))"

            let executor = try await Support.executor(cancelGrace: .seconds(10))
            let recorder = EventRecorder()
            let running = Task { await executor.run(job, repository: repo, emit: { await recorder.record($0) }) }

            try await Support.waitUntil("backup progress") { await recorder.progress.contains { $0.bytesDone > 0 } }
            let resticProcess = try #require(Support.processes(withArgument: "--tag=\(marker)").first)
            let commandLine = resticProcess.arguments.joined(separator: " ")
            #expect(resticProcess.arguments.first == (try await Support.restic()).path)
            #expect(!commandLine.contains(password))
            #expect(!commandLine.contains(repo.url))
            // The secret is in restic's environment, and only there.
            #expect(Support.environment(ofProcess: resticProcess.pid).contains("RESTIC_PASSWORD=\(password)"))

            let cancelledAt = ContinuousClock.now
            running.cancel()
            let outcome = await running.value
            let stopTime = ContinuousClock.now - cancelledAt

            #expect(outcome.status == .cancelled)
            #expect(outcome.error == "cancelled")
            #expect(stopTime < .seconds(8), "restic took \(stopTime) to stop after SIGINT")
            #expect(Support.processes(withArgument: "--tag=\(marker)").isEmpty)
            #expect(!(await recorder.allText.contains(password)))
            #expect(try directory.read("post-hook.txt") == "cancelled \(outcome.exitCode)\n")
            // restic removed its lock on SIGINT.
            #expect(try await Support.repositoryStats(repo).lockState == "unlocked")
        }

        @Test func secretsInOutputAreScrubbed() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let password = "scrub-me-\(UUID().uuidString.prefix(8))"
            let repo = try await Support.initialisedRepository(in: directory, password: password)
            try directory.write("data/a.txt", "x")
            // restic prints missing paths on stderr; this one contains the password.
            let missing = directory.sub("\(password)/missing")
            let (outcome, recorder) = await Support.run(
                Support.job(.backup, paths: [directory.sub("data"), missing]),
                on: repo,
                with: try await Support.executor()
            )
            #expect(outcome.status == .succeeded)
            let logs = await recorder.logs
            #expect(logs.contains { $0.stream == .stderr && $0.text.contains("/***/missing does not exist, skipping") })
            #expect(!(await recorder.allText.contains(password)))
        }

        @Test func missingResticFailsWithoutRunningAnything() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let executor = JobExecutor(
                restic: ResticInstallation(path: directory.sub("bin/restic"), version: "0.14.0"),
                logger: Support.quietLogger
            )
            let repo = RepositoryConfig(url: directory.sub("repo"), password: "pw")
            let (outcome, _) = await Support.run(Support.job(.snapshotsLikeCheck), on: repo, with: executor)
            #expect(outcome.status == .failed)
            #expect(outcome.exitCode == JobOutcome.noExitCode)
            #expect(outcome.error == "restic not found at \(directory.sub("bin/restic"))")
            #expect(JobOutcome.resticNotFound().error == "restic not found on PATH")
        }

        @Test func locateFindsResticOnPathOrWhereConfigured() async throws {
            let found = try #require(await ResticInstallation.locate(configuredPath: nil))
            #expect(found.path.hasSuffix("/restic"))
            #expect(found.parsedVersion != nil)
            #expect(await ResticInstallation.locate(configuredPath: found.path) == found)
            #expect(await ResticInstallation.locate(configuredPath: "restic") == found)
            #expect(await ResticInstallation.locate(configuredPath: "/nonexistent/restic") == nil)
            // Something that runs but is not restic.
            #expect(await ResticInstallation.locate(configuredPath: "/bin/true") == nil)
        }
    }
}

extension JobKind {
    /// A kind that needs no paths, for tests that never get to restic.
    fileprivate static var snapshotsLikeCheck: JobKind { .check }
}
