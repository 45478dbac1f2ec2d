import Foundation
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

private typealias Support = ResticTestSupport

private enum Backends {
    static let pyrestserver = "/work/main/.venv/bin/pyrestserver"
    static let motoServer = "/work/main/.venv/bin/moto_server"
    static var hasRestServer: Bool { FileManager.default.isExecutableFile(atPath: pyrestserver) }
    static var hasMoto: Bool { FileManager.default.isExecutableFile(atPath: motoServer) }
}

extension ResticIntegrationTests {
    @Suite(
        "REST backend with basic auth (pyrestserver)",
        .enabled(if: Backends.hasRestServer, "pyrestserver not installed in /work/main/.venv")
    )
    struct RESTBackend {
        @Test func credentialsGoThroughTheEnvironmentOnly() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let credential = "s3cret:with@chars/\(UUID().uuidString.prefix(6))"
            try directory.write("server/.htpasswd", "agent:\(credential)\n")
            try directory.write("data/a.txt", "over http")
            let port = try Support.freePort()
            let arguments = ["serve", "--path", directory.sub("server"), "--listen", "127.0.0.1:\(port)"]

            try await Support.withServer(Backends.pyrestserver, arguments, port: port) {
                let repo = RepositoryConfig(
                    url: "rest:http://127.0.0.1:\(port)/",
                    password: "repo password",
                    username: "agent",
                    credential: credential
                )
                let executor = try await Support.executor()

                // Nothing is created at a URL that has no repository yet.
                let (missing, _) = await Support.run(
                    Support.job(.snapshotsLikeCheckForBackends),
                    on: repo,
                    with: executor
                )
                #expect(missing.error == "repository does not exist at \(repo.url); run an init job to create it")

                let (initialised, _) = await Support.run(Support.job(.`init`), on: repo, with: executor)
                #expect(initialised.status == .succeeded)
                let (backedUp, recorder) = await Support.run(
                    Support.job(.backup, paths: [directory.sub("data")]),
                    on: repo,
                    with: executor
                )
                #expect(backedUp.status == .succeeded)
                #expect(!(await recorder.allText.contains(credential)))
                #expect(try await Support.reporter().snapshots(repo).count == 1)

                var wrong = repo
                wrong.credential = "not-it"
                let (refused, refusedEvents) = await Support.run(Support.job(.check), on: wrong, with: executor)
                #expect(refused.status == .failed)
                #expect(
                    refused.error
                        == "the repository server rejected the credentials (HTTP 401); check the repository username and credential"
                )
                #expect(!(await refusedEvents.allText.contains("not-it")))
            }
        }
    }

    @Suite("S3 backend (moto)", .enabled(if: Backends.hasMoto, "moto_server not installed in /work/main/.venv"))
    struct S3Backend {
        @Test func accessKeysGoThroughTheEnvironment() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try directory.write("data/a.txt", "over s3")
            let port = try Support.freePort()

            try await Support.withServer(Backends.motoServer, ["-H", "127.0.0.1", "-p", "\(port)"], port: port) {
                let repo = RepositoryConfig(
                    url: "s3:http://127.0.0.1:\(port)/restic-test",
                    password: "repo password",
                    username: "AKIDTEST",
                    credential: "s3-secret-key"
                )
                let executor = try await Support.executor()
                let (initialised, _) = await Support.run(Support.job(.`init`), on: repo, with: executor)
                #expect(initialised.status == .succeeded, "\(initialised.error ?? "")")
                let (backedUp, recorder) = await Support.run(
                    Support.job(.backup, paths: [directory.sub("data")]),
                    on: repo,
                    with: executor
                )
                #expect(backedUp.status == .succeeded)
                #expect(!(await recorder.allText.contains("s3-secret-key")))
                let stats = try await Support.repositoryStats(repo)
                #expect(stats.snapshotCount == 1 && stats.lockState == "unlocked")
            }
        }
    }
}

extension JobKind {
    fileprivate static var snapshotsLikeCheckForBackends: JobKind { .check }
}
