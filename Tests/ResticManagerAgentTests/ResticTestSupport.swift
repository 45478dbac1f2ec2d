import AsyncAlgorithms
import Foundation
import Logging
import ResticManagerProtocol
import Testing

@testable import ResticManagerAgent

#if canImport(Glibc)
import Glibc
#endif

/// Collects a job's events as `emit` delivers them.
actor EventRecorder {
    private(set) var events: [JobEvent] = []

    func record(_ event: JobEvent) {
        events.append(event)
    }

    var logs: [(stream: LogStreamKind, text: String)] {
        events.compactMap { if case .log(let stream, let text) = $0 { (stream, text) } else { nil } }
    }

    var progress: [JobProgressPayload] {
        events.compactMap { if case .progress(let progress) = $0 { progress } else { nil } }
    }

    /// Every event's text, for "the secret appears nowhere" checks.
    var allText: String {
        events.map { "\($0)" }.joined(separator: "\n")
    }
}

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "rm-agent-test") throws {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func sub(_ name: String) -> String { path + "/" + name }

    func makeDirectory(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: sub(name), withIntermediateDirectories: true)
        return sub(name)
    }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let target = sub(name)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try contents.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: sub(name), encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

enum ResticTestSupport {
    static let quietLogger = Logger(label: "restic-manager-agent-tests") { _ in SwiftLogNoOpLogHandler() }

    static func restic() async throws -> ResticInstallation {
        try #require(await ResticInstallation.locate(configuredPath: nil), "restic must be installed for these tests")
    }

    static func executor(
        hookTimeout: Duration = .seconds(60),
        cancelGrace: Duration = .seconds(10),
        progressInterval: Duration = .milliseconds(500)
    ) async throws -> JobExecutor {
        JobExecutor(
            restic: try await restic(),
            hookTimeout: hookTimeout,
            cancelGrace: cancelGrace,
            progressInterval: progressInterval,
            logger: quietLogger
        )
    }

    static func reporter() async throws -> RepositoryReporter {
        RepositoryReporter(restic: try await restic(), logger: quietLogger)
    }

    /// `repo.stats` without a last check.
    static func repositoryStats(_ repo: RepositoryConfig) async throws -> RepoStatsPayload {
        try await reporter().stats(repo, lastCheck: nil as (at: Date, status: String)?)
    }

    /// Runs `spec` to the end, recording its events.
    static func run(
        _ spec: JobSpec,
        on repo: RepositoryConfig,
        with executor: JobExecutor
    ) async -> (outcome: JobOutcome, recorder: EventRecorder) {
        let recorder = EventRecorder()
        let outcome = await executor.run(spec, repository: repo, emit: { await recorder.record($0) })
        return (outcome, recorder)
    }

    static func job(_ kind: JobKind, paths: [String] = [], options: String? = nil, retention: String? = nil) -> JobSpec
    {
        JobSpec(
            jobID: UUID().uuidString,
            kind: kind,
            paths: paths,
            retentionPolicy: retention.map { try! RawJSON(text: $0) },
            options: options.map { try! RawJSON(text: $0) }
        )
    }

    /// A new, initialised local repository.
    static func initialisedRepository(
        in directory: TemporaryDirectory,
        password: String = "correct horse"
    ) async throws
        -> RepositoryConfig
    {
        let repo = RepositoryConfig(url: directory.sub("repo"), password: password)
        let (outcome, _) = await run(job(.`init`), on: repo, with: try await executor())
        try #require(outcome.status == .succeeded, "init failed: \(outcome.error ?? "")")
        return repo
    }

    /// Waits until `condition` holds; fails the test after `timeout`. The
    /// condition is checked again whenever `changes` yields (a store's change
    /// signal: state the code under test announces), and on a steady tick for
    /// what nothing announces (a file restic writes, a port a child opens).
    static func waitUntil(
        _ what: Comment,
        timeout: Duration = .seconds(60),
        changes: AsyncStream<Void>? = nil,
        _ condition: () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        // With announced changes the tick only bounds the wait by the deadline.
        let tick = changes == nil ? Duration.milliseconds(20) : .milliseconds(250)
        let ticks = AsyncTimerSequence(interval: tick, clock: .continuous).map { _ in () }
        var wakeUps = merge(changes ?? AsyncStream { $0.finish() }, ticks).makeAsyncIterator()
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for: \(what)")
                throw CancellationError()
            }
            guard await wakeUps.next() != nil else { throw CancellationError() }
        }
    }

    /// Every file under `path` with its size and modification time: a
    /// fingerprint that changes if restic touched the repository.
    static func fingerprint(of path: String) -> [String: String] {
        var result: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return result }
        while let name = enumerator.nextObject() as? String {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)) ?? [:]
            result[name] = "\(attributes[.size] ?? "-") \(attributes[.modificationDate] ?? "-")"
        }
        return result
    }

    /// Processes whose command line contains `marker`: (pid, argv).
    static func processes(withArgument marker: String) -> [(pid: Int32, arguments: [String])] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var found: [(Int32, [String])] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
            else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.contains(where: { $0.contains(marker) }) { found.append((pid, arguments)) }
        }
        return found
    }

    /// The raw `/proc/<pid>/environ` of a process.
    static func environment(ofProcess pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A directory of `megabytes` MiB of random data in four files, made
    /// once per machine and reused (random, so restic cannot dedup it away).
    static func bigDataDirectory(megabytes: Int = 200) throws -> String {
        let directory = NSTemporaryDirectory() + "rm-agent-test-bigdata-\(megabytes)"
        let marker = directory + "/.complete"
        if FileManager.default.fileExists(atPath: marker) { return directory }
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        for index in 0..<4 {
            let path = directory + "/random-\(index).bin"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let output = try #require(FileHandle(forWritingAtPath: path))
            for _ in 0..<(megabytes / 4) {
                try output.write(contentsOf: random.readData(ofLength: 1 << 20))
            }
            try output.close()
        }
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        return directory
    }

    /// A TCP port nothing listens on right now.
    static func freePort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socketFD >= 0)
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socketFD, pointer, length) == 0 && getsockname(socketFD, pointer, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func isListening(port: Int) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Runs `body` while a server started by `arguments` listens on `port`;
    /// stops it afterwards (SIGINT to its process group, as on cancel).
    static func withServer<T: Sendable>(
        _ executable: String,
        _ arguments: [String],
        port: Int,
        _ body: () async throws -> T
    ) async throws -> T {
        let server = ChildProcess(
            executable: .path(executable),
            arguments: arguments,
            environment: [:],
            timeout: .seconds(600),
            stopGrace: .seconds(5),
            stopsOnTaskCancellation: true
        )
        let serverTask = Task { try await server.run(onLine: { _ in }) }
        defer { serverTask.cancel() }
        try await waitUntil("\(executable) listening on \(port)", timeout: .seconds(60)) { isListening(port: port) }
        let result = try await body()
        serverTask.cancel()
        _ = try? await serverTask.value
        return result
    }

    /// A write-only sysfs file: opening it for reading fails even for root,
    /// which is the only reliable way to make restic hit a read error when
    /// the tests run as root (`chmod 000` does not stop root).
    static func unreadableFile() -> String? {
        let candidates = ["/sys/bus/pci/rescan", "/sys/class/zram-control/hot_remove"]
        return candidates.first { path in
            FileManager.default.fileExists(atPath: path) && FileHandle(forReadingAtPath: path) == nil
        }
    }
}
