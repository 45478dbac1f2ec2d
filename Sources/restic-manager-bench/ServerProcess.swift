import ArgumentParser
import Foundation
import ResticManagerServer
import Synchronization

/// The real `restic-manager-server serve` as a child process on a free port.
struct ServerProcess: Sendable {
    let baseURL: String
    let adminPassword: String
    let pid: Int32

    var webSocketURL: String {
        baseURL.replacingOccurrences(of: "http", with: "ws", options: .anchored) + "/api/v1/agent/ws"
    }

    /// The server binary given, or `restic-manager-server` next to this one.
    static func binary(_ path: String?) throws -> URL {
        let binary = path.map { URL(fileURLWithPath: $0) } ?? URL(
            fileURLWithPath: CommandLine.arguments[0]
        ).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("restic-manager-server")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ValidationError("no server binary at \(binary.path); build it with `swift build -c release`")
        }
        return binary
    }

    /// CPU time the server used so far; nil where /proc is missing.
    func cpuTime() -> Duration? { CPUClock.time(ofProcess: pid) }

    /// Starts the server on `store`, runs `body` while it serves, then
    /// stops it with SIGTERM (its graceful shutdown) whatever happened.
    static func withRunningServer<Result: Sendable>(
        binary: URL,
        store: StoreLocation,
        _ body: (ServerProcess) async throws -> Result
    ) async throws -> Result {
        let process = Process()
        process.executableURL = binary
        // `notice` keeps the `listening` line and drops per-connection chatter.
        process.arguments =
            ["serve", "--listen", "127.0.0.1:0", "--log-level", "notice"] + storeArguments(store)
        process.environment = environment(store)
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let stdout = OutputCapture(draining: stdoutPipe.fileHandleForReading)
        let stderr = OutputCapture(draining: stderrPipe.fileHandleForReading)
        let exited = ProcessExit()
        process.terminationHandler = { _ in exited.signal() }
        try process.run()

        do {
            let server = try await waitUntilReady(process: process, stdout: stdout, stderr: stderr)
            let result = try await body(server)
            await stop(process, exited: exited)
            // What the server logged (notice and up), for reading its close
            // codes and errors after a run.
            if let path = ProcessInfo.processInfo.environment["RM_BENCH_SERVER_LOG"] {
                try Data((stdout.text + stderr.text).utf8).write(to: URL(fileURLWithPath: path))
            }
            return result
        } catch {
            await stop(process, exited: exited)
            throw error
        }
    }

    /// Runs `restic-manager-server migrate-to`: the SQLite file of
    /// `dataDirectory` copied into the empty PostgreSQL database of `target`,
    /// with the server's own copy. Its report goes to stderr, beside the
    /// bench's progress.
    static func migrate(binary: URL, dataDirectory: String, into target: PostgresURL) async throws {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["migrate-to"] + storeArguments(StoreLocation(dataDirectory: dataDirectory, postgres: target))
        process.environment = environment(StoreLocation(dataDirectory: dataDirectory, postgres: target))
        process.standardOutput = FileHandle.standardError
        let exited = ProcessExit()
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        await exited.wait()
        guard process.terminationStatus == 0 else {
            throw BenchError.store("restic-manager-server migrate-to exited with \(process.terminationStatus)")
        }
    }

    /// The password goes in `PGPASSWORD`, never in the arguments, which
    /// anyone on the machine can read.
    private static func storeArguments(_ store: StoreLocation) -> [String] {
        ["--data-dir", store.dataDirectory] + (store.postgres.map { ["--database", $0.description] } ?? [])
    }

    private static func environment(_ store: StoreLocation) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let password = store.postgres?.password { environment["PGPASSWORD"] = password }
        return environment
    }

    private static func waitUntilReady(
        process: Process,
        stdout: OutputCapture,
        stderr: OutputCapture
    ) async throws -> ServerProcess {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw BenchError.serverDidNotStart("exited with \(process.terminationStatus): \(stderr.text)")
            }
            if let url = firstMatch(#"url=(\S+).*listening|listening.*url=(\S+)"#, in: stdout.text),
                let password = firstMatch(#"created user admin with password (\S+)"#, in: stderr.text)
            {
                return ServerProcess(baseURL: url, adminPassword: password, pid: process.processIdentifier)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError.serverDidNotStart("no `listening` line and admin password within 30 s: \(stdout.text)")
    }

    private static func stop(_ process: Process, exited: ProcessExit) async {
        if process.isRunning { process.terminate() }
        await exited.wait()
    }

    private static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
        else { return nil }
        for group in 1..<match.numberOfRanges {
            if let range = Range(match.range(at: group), in: text) { return String(text[range]) }
        }
        return nil
    }
}

/// Drains one of the child's pipes so it never blocks on a full pipe, and
/// keeps what it wrote for parsing and error messages.
private final class OutputCapture: Sendable {
    private let buffer = Mutex(Data())

    init(draining handle: FileHandle) {
        handle.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
            } else {
                self.buffer.withLock { $0.append(chunk) }
            }
        }
    }

    var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// Resumes whoever waits once the child has exited.
private final class ProcessExit: Sendable {
    private struct State {
        var exited = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func signal() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}
