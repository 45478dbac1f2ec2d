import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

private typealias Support = ResticTestSupport

@Suite("HookShell")
struct HookShellTests {
    @Test func parsesShellsWithQuotes() throws {
        let sh = try HookShell(parsing: "/bin/sh -c")
        #expect(sh.program == "/bin/sh" && sh.leadingArguments == ["-c"])
        #expect(sh.executable == .path("/bin/sh"))
        #expect(sh.arguments(running: "echo 'a  b' | wc") == ["-c", "echo 'a  b' | wc"])

        let powershell = try HookShell(parsing: "powershell -NoProfile -Command")
        #expect(powershell.executable == .name("powershell"))
        #expect(powershell.leadingArguments == ["-NoProfile", "-Command"])

        let quoted = try HookShell(parsing: #""C:\Program Files\PowerShell\7\pwsh.exe"  -Command"#)
        #expect(quoted.program == #"C:\Program Files\PowerShell\7\pwsh.exe"#)
        #expect(quoted.leadingArguments == ["-Command"])
    }

    @Test func emptyMeansThePlatformDefault() throws {
        #expect(try HookShell(parsing: "") == HookShell(parsing: Platform.defaultHookShell))
        #expect(Platform.defaultHookShell == "/bin/sh -c")
        #expect(Platform.defaultStateDirectory == "/var/lib/restic-manager-agent")
    }

    @Test func badShellsAreRefused() {
        #expect(throws: HookShellError(reason: "hook_shell has an unterminated quote")) {
            try HookShell(parsing: #""/bin/sh -c"#)
        }
        #expect(throws: HookShellError(reason: "hook_shell names no program")) { try HookShell(parsing: "   ") }
    }

    @Test func timeoutsAreDescribedAsOperatorsWriteThem() {
        #expect(HookRunner.describe(.seconds(3600)) == "1h")
        #expect(HookRunner.describe(.seconds(120)) == "2m")
        #expect(HookRunner.describe(.seconds(1)) == "1s")
        #expect(HookRunner.describe(.milliseconds(1500)) == "1.5s")
    }
}

extension ResticIntegrationTests {
    @Suite("hooks")
    struct Hooks {
        /// A backup job of `directory/data` with hooks.
        private func backup(in directory: TemporaryDirectory, pre: String = "", post: String = "") throws -> JobSpec {
            try directory.write("data/a.txt", "x")
            var job = Support.job(.backup, paths: [directory.sub("data")])
            job.preHook = pre
            job.postHook = post
            return job
        }

        @Test func failingPreHookFailsTheJobWithoutRunningRestic() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let before = Support.fingerprint(of: repo.url)
            let job = try backup(
                in: directory,
                pre: "echo stopping db; echo 'db refused' >&2; exit 7",
                post: "echo \"$RM_JOB_STATUS|$RM_EXIT_CODE\" > \(directory.sub("post.txt"))"
            )

            let (outcome, recorder) = await Support.run(job, on: repo, with: try await Support.executor())

            #expect(
                outcome
                    == JobOutcome(
                        status: .failed,
                        exitCode: JobOutcome.noExitCode,
                        error: "pre-hook failed with exit code 7; restic was not run"
                    )
            )
            let logs = await recorder.logs
            #expect(logs.contains { $0 == (.stdout, "[pre-hook] stopping db") })
            #expect(logs.contains { $0 == (.stderr, "[pre-hook] db refused") })
            #expect(!logs.contains { $0.text.hasPrefix("[agent] restic") })
            // restic never touched the repository…
            #expect(Support.fingerprint(of: repo.url) == before)
            #expect(try await Support.reporter().snapshots(repo).isEmpty)
            // …and the post-hook still ran, told that the job failed.
            #expect(try directory.read("post.txt") == "failed|\(JobOutcome.noExitCode)\n")
        }

        @Test func hooksGetTheJobInTheirEnvironmentButNoSecret() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let password = "hook-pw-\(UUID().uuidString.prefix(8))"
            let repo = try await Support.initialisedRepository(in: directory, password: password)
            var job = try backup(
                in: directory,
                pre: "env > \(directory.sub("pre.env"))",
                post: "env > \(directory.sub("post.env")); echo post says hi; echo post warns >&2"
            )
            job.jobID = "job-hooks-1"

            let (outcome, recorder) = await Support.run(job, on: repo, with: try await Support.executor())
            #expect(outcome.status == .succeeded && outcome.error == nil)

            let pre = Set(try directory.read("pre.env").split(separator: "\n").map(String.init))
            #expect(
                pre.isSuperset(of: ["RM_JOB_ID=job-hooks-1", "RM_JOB_KIND=backup", "RM_JOB_STATUS=", "RM_EXIT_CODE="])
            )
            let post = Set(try directory.read("post.env").split(separator: "\n").map(String.init))
            #expect(
                post.isSuperset(of: [
                    "RM_JOB_ID=job-hooks-1", "RM_JOB_KIND=backup", "RM_JOB_STATUS=succeeded", "RM_EXIT_CODE=0",
                ])
            )
            for environment in [pre, post] {
                #expect(!environment.contains { $0.contains(password) || $0.hasPrefix("RESTIC_") })
            }

            let logs = await recorder.logs
            #expect(logs.contains { $0 == (.stdout, "[post-hook] post says hi") })
            #expect(logs.contains { $0 == (.stderr, "[post-hook] post warns") })
            // Order: pre-hook, restic, post-hook.
            let resticIndex = try #require(logs.firstIndex { $0.text.hasPrefix("[agent] restic backup") })
            let postIndex = try #require(logs.firstIndex { $0.text == "[post-hook] post says hi" })
            #expect(resticIndex < postIndex)
        }

        @Test func failingPostHookFailsASuccessfulJob() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let job = try backup(in: directory, post: "exit 4")
            let (outcome, _) = await Support.run(job, on: repo, with: try await Support.executor())
            #expect(outcome.status == .failed)
            #expect(outcome.exitCode == 0)
            #expect(outcome.error == "post-hook failed with exit code 4")
            #expect(outcome.stats != nil)
            #expect(try await Support.reporter().snapshots(repo).count == 1)
        }

        @Test func postHookFailureIsAddedToAFailedJob() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = RepositoryConfig(url: directory.sub("missing-repo"), password: "pw")
            let job = try backup(in: directory, post: "exit 2")
            let (outcome, _) = await Support.run(job, on: repo, with: try await Support.executor())
            #expect(outcome.status == .failed)
            #expect(
                outcome.error
                    == "repository does not exist at \(repo.url); run an init job to create it; post-hook failed with exit code 2"
            )
        }

        @Test func preHookTimeoutKillsTheHookAndSkipsRestic() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let job = try backup(in: directory, pre: "echo started; sleep 60")
            let started = ContinuousClock.now
            let (outcome, recorder) = await Support.run(
                job,
                on: repo,
                with: try await Support.executor(hookTimeout: .seconds(1), cancelGrace: .seconds(2))
            )
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(outcome.status == .failed)
            #expect(outcome.error == "pre-hook timed out after 1s; restic was not run")
            #expect(await recorder.logs.contains { $0 == (.stdout, "[pre-hook] started") })
            #expect(try await Support.reporter().snapshots(repo).isEmpty)
        }

        @Test func aHookThatClosesItsOutputStillTimesOut() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            let job = try backup(in: directory, pre: "echo bye; exec >/dev/null 2>&1; sleep 60")
            let started = ContinuousClock.now
            let (outcome, _) = await Support.run(
                job,
                on: repo,
                with: try await Support.executor(hookTimeout: .seconds(1), cancelGrace: .seconds(2))
            )
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(outcome.error == "pre-hook timed out after 1s; restic was not run")
        }

        @Test func cancelDuringThePreHookEscalatesToSIGKILL() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let repo = try await Support.initialisedRepository(in: directory)
            // Ignores SIGINT (and so does its sleep): only SIGKILL stops it.
            let marker = directory.sub("pre-started")
            let job = try backup(
                in: directory,
                pre: "trap '' INT; touch \(marker); sleep 60",
                post: "echo \"$RM_JOB_STATUS\" > \(directory.sub("post.txt"))"
            )
            let executor = try await Support.executor(cancelGrace: .seconds(1))
            let recorder = EventRecorder()
            let running = Task { await executor.run(job, repository: repo, emit: { await recorder.record($0) }) }
            try await Support.waitUntil("the pre-hook to start") { FileManager.default.fileExists(atPath: marker) }

            let cancelledAt = ContinuousClock.now
            running.cancel()
            let outcome = await running.value
            #expect(ContinuousClock.now - cancelledAt < .seconds(10))
            #expect(
                outcome
                    == JobOutcome(
                        status: .cancelled,
                        exitCode: JobOutcome.noExitCode,
                        error: "cancelled during the pre-hook"
                    )
            )
            #expect(try directory.read("post.txt") == "cancelled\n")
            #expect(try await Support.reporter().snapshots(repo).isEmpty)
        }

        @Test func aMissingHookShellIsReported() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            var repo = try await Support.initialisedRepository(in: directory)
            repo.hookShell = directory.sub("no-such-shell") + " -c"
            let job = try backup(in: directory, pre: "true")
            let (outcome, _) = await Support.run(job, on: repo, with: try await Support.executor())
            #expect(outcome.status == .failed)
            #expect(
                outcome.error
                    == "pre-hook could not start: \(directory.sub("no-such-shell")) not found; restic was not run"
            )
        }
    }
}
