import Subprocess
import Synchronization

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One line a child process wrote, without its line break.
struct ChildOutputLine: Sendable, Equatable {
    enum Stream: Sendable, Equatable {
        case stdout
        case stderr
    }

    var stream: Stream
    var text: String

    /// A line as the job log keeps it: terminal control sequences (restic
    /// writes `ESC[2K` before messages on stderr) removed, since the log is
    /// read in a browser or a JSON client, never on a terminal.
    init(stream: Stream, text: String) {
        self.stream = stream
        self.text = text.contains("\u{1B}") ? text.replacing(Self.terminalControl, with: "") : text
    }

    /// CSI sequences (`ESC [ … final byte`) and two-byte escapes. A `Regex`
    /// is not `Sendable` (it may hold captures of any type), so a shared
    /// one needs `nonisolated(unsafe)`; this one has no captures that are
    /// read and is never mutated, so sharing it across threads is safe.
    nonisolated(unsafe) static let terminalControl = /\x1B(\[[0-?]*[ -\/]*[@-~]|[@-Z\\-_])/
}

/// Runs one child process (restic or a hook shell) and hands every line it
/// writes to the caller, in arrival order, reading stdout and stderr
/// concurrently so that neither pipe can fill up and block the child.
///
/// Stopping is explicit rather than left to swift-subprocess's reaction to
/// task cancellation: the child runs in a task of its own that the caller's
/// cancellation does not reach. A cancel (when ``stopsOnTaskCancellation``)
/// or the ``timeout`` sends the polite signal to the child's process group,
/// and if the group is still there after ``stopGrace`` it is killed. Output
/// keeps flowing to the caller until the child has exited, so the last
/// lines restic prints while cleaning up are never lost, and a post-hook
/// can still run after its job was cancelled.
struct ChildProcess: Sendable {
    /// How to find the program.
    enum Executable: Sendable, Equatable {
        /// An absolute or relative path, used as is.
        case path(String)
        /// A bare name looked up on `PATH`.
        case name(String)
    }

    /// Why the child was asked to stop before it finished on its own.
    enum StopReason: Sendable, Equatable {
        case cancelled
        case timedOut
    }

    /// How the child ended.
    enum Termination: Sendable, Equatable {
        case exited(Int)
        case signaled(Int32)

        /// The exit code, or the shell's `128 + signal` for a killed child.
        var exitCode: Int {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): Platform.exitCode(forSignal: signal)
            }
        }
    }

    struct Result: Sendable, Equatable {
        var termination: Termination
        /// Set when the agent asked the child to stop (cancel or timeout).
        var stopReason: StopReason?
    }

    /// The child could not be started at all.
    enum LaunchError: Error, Sendable, Equatable {
        case notFound(String)
        case failed(String)
    }

    var executable: Executable
    var arguments: [String]
    /// Changes to the agent's own environment: a value sets a variable,
    /// nil removes an inherited one.
    var environment: [String: String?]
    /// Stop the child (SIGTERM, then SIGKILL after ``stopGrace``) after this long.
    var timeout: Duration?
    /// How long a stopped child may take to exit before it is killed.
    var stopGrace: Duration
    /// Whether cancelling the calling task stops the child (SIGINT).
    var stopsOnTaskCancellation: Bool

    /// Starts the child, calls `onLine` for each line it writes, and returns
    /// once it has exited and all its output has been delivered.
    func run(onLine: (ChildOutputLine) async -> Void) async throws(LaunchError) -> Result {
        let control = StopControl()
        let channel = OutputChannel()
        let configuration = Configuration(
            executable: subprocessExecutable,
            arguments: Arguments(arguments),
            environment: subprocessEnvironment,
            platformOptions: Platform.childProcessOptions(interruptGrace: stopGrace)
        )
        let timeout = self.timeout
        let grace = stopGrace
        let executableDescription = executableDescription

        // Unstructured on purpose (and awaited below): the caller's
        // cancellation must not tear the child down behind our back.
        let runner = Task { () -> Swift.Result<Termination, LaunchError> in
            do {
                let outcome = try await Subprocess.run(
                    configuration,
                    input: .none,
                    output: .sequence,
                    error: .sequence
                ) { execution in
                    control.attach(execution.processIdentifier)
                    await Self.supervise(execution, control: control, channel: channel, timeout: timeout, grace: grace)
                    // The child has exited but is not reaped yet (that
                    // happens after the body returns), so its pid cannot
                    // have been reused while `control` still held it.
                    control.detach()
                }
                await channel.finish()
                return .success(Self.termination(of: outcome.terminationStatus))
            } catch let error as SubprocessError {
                await channel.finish()
                if error.code == .executableNotFound {
                    return .failure(.notFound(executableDescription))
                }
                return .failure(.failed("cannot start \(executableDescription): \(error)"))
            } catch {
                await channel.finish()
                return .failure(.failed("cannot start \(executableDescription): \(error)"))
            }
        }

        let stopsOnCancel = stopsOnTaskCancellation
        let outcome = await withTaskCancellationHandler {
            while let batch = await channel.receive() {
                for line in batch {
                    await onLine(line)
                }
            }
            return await runner.value
        } onCancel: {
            if stopsOnCancel {
                control.requestStop(.cancelled)
            }
        }
        switch outcome {
        case .success(let termination):
            return Result(termination: termination, stopReason: control.stopReason)
        case .failure(let error):
            throw error
        }
    }

    private enum SupervisorTask {
        case streamClosed
        case other
    }

    /// Pumps both output streams into `channel` while watching for a stop
    /// request and the timeout; returns once both streams are closed.
    private static func supervise(
        _ execution: Execution<NoInput, SequenceOutput, SequenceOutput>,
        control: StopControl,
        channel: OutputChannel,
        timeout: Duration?,
        grace: Duration
    ) async {
        await withTaskGroup(of: SupervisorTask.self) { group in
            group.addTask {
                await pump(execution.standardOutput, as: .stdout, into: channel)
                return .streamClosed
            }
            group.addTask {
                await pump(execution.standardError, as: .stderr, into: channel)
                return .streamClosed
            }
            group.addTask {
                await control.killAfterStopRequest(grace: grace)
                return .other
            }
            if let timeout {
                group.addTask {
                    if (try? await Task.sleep(for: timeout)) != nil {
                        control.requestStop(.timedOut)
                    }
                    return .other
                }
            }
            var openStreams = 2
            while openStreams > 0, let finished = await group.next() {
                if finished == .streamClosed { openStreams -= 1 }
            }
            // Normally the child has exited by now. If it closed its output
            // but runs on, the timeout and kill timer must still reach it.
            await Platform.waitForExit(of: execution.processIdentifier)
            group.cancelAll()
        }
    }

    private static func pump(
        _ output: SubprocessOutputSequence,
        as stream: ChildOutputLine.Stream,
        into channel: OutputChannel
    ) async {
        // Unbounded: `forget --json` and `snapshots --json` print one line
        // per run that grows with the repository. Consumers cap what they
        // forward (see `JobLogLine`).
        do {
            for try await text in output.strings(bufferingPolicy: .unbounded) {
                await channel.send(ChildOutputLine(stream: stream, text: text))
            }
        } catch {
            await channel.send(ChildOutputLine(stream: .stderr, text: "[agent] reading \(stream) failed: \(error)"))
        }
    }

    private var subprocessExecutable: Subprocess.Executable {
        switch executable {
        case .path(let path): .path(FilePath(path))
        case .name(let name): .name(name)
        }
    }

    private var executableDescription: String {
        switch executable {
        case .path(let path): path
        case .name(let name): name
        }
    }

    private var subprocessEnvironment: Subprocess.Environment {
        var changes: [Subprocess.Environment.Key: String?] = [:]
        for (name, value) in environment {
            guard let key = Subprocess.Environment.Key(rawValue: name) else { continue }
            changes[key] = value
        }
        return .inherit.updating(changes)
    }

    private static func termination(of status: TerminationStatus) -> Termination {
        switch status {
        case .exited(let code):
            return .exited(Int(code))
        #if !os(Windows)
        case .signaled(let signal):
            return .signaled(Int32(signal))
        #endif
        }
    }
}

/// The stop state of one child, shared between the caller's cancellation
/// handler, the timeout and the kill timer.
///
/// A `Mutex` rather than an actor: `withTaskCancellationHandler`'s
/// `onCancel` is synchronous and must signal the child at once.
private final class StopControl: Sendable {
    private struct State {
        var process: ProcessIdentifier?
        var stopReason: ChildProcess.StopReason?
    }

    private let state = Mutex(State())
    private let stopRequests: AsyncStream<Void>
    private let stopRequested: AsyncStream<Void>.Continuation

    init() {
        (stopRequests, stopRequested) = AsyncStream.makeStream(of: Void.self)
    }

    var stopReason: ChildProcess.StopReason? { state.withLock { $0.stopReason } }

    /// The child is running; a stop requested before it started is applied now.
    func attach(_ process: ProcessIdentifier) {
        state.withLock { state in
            state.process = process
            if let reason = state.stopReason {
                Platform.requestStop(of: process, reason: reason)
            }
        }
    }

    /// The child's output is closed; signal nothing from now on.
    func detach() {
        state.withLock { $0.process = nil }
    }

    /// Asks the child to stop; only the first request counts.
    func requestStop(_ reason: ChildProcess.StopReason) {
        let isFirst = state.withLock { state -> Bool in
            guard state.stopReason == nil else { return false }
            state.stopReason = reason
            if let process = state.process {
                Platform.requestStop(of: process, reason: reason)
            }
            return true
        }
        if isFirst {
            stopRequested.yield()
            stopRequested.finish()
        }
    }

    /// Waits for a stop request, then kills the process group if it is
    /// still there after `grace`. Returns early when its task is cancelled
    /// (the child exited on its own).
    func killAfterStopRequest(grace: Duration) async {
        var requests = stopRequests.makeAsyncIterator()
        guard await requests.next() != nil, !Task.isCancelled else { return }
        guard (try? await Task.sleep(for: grace)) != nil else { return }
        state.withLock { state in
            if let process = state.process {
                Platform.forceKill(process)
            }
        }
    }
}

/// An unbounded, ordered hand-off of output lines from the child's task to
/// the caller's. Unlike `AsyncStream`, receiving ignores cancellation: a
/// cancelled job still gets restic's final lines.
private actor OutputChannel {
    private var buffered: [ChildOutputLine] = []
    private var finished = false
    private var waiter: CheckedContinuation<[ChildOutputLine]?, Never>?

    func send(_ line: ChildOutputLine) {
        guard !finished else { return }
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: [line])
        } else {
            buffered.append(line)
        }
    }

    func finish() {
        finished = true
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: takeBuffered())
        }
    }

    /// The lines that arrived since the last call, waiting for at least one;
    /// nil once the child is done and everything was delivered.
    func receive() async -> [ChildOutputLine]? {
        if let lines = takeBuffered() { return lines }
        if finished { return nil }
        return await withCheckedContinuation { waiter = $0 }
    }

    private func takeBuffered() -> [ChildOutputLine]? {
        guard !buffered.isEmpty else { return nil }
        defer { buffered = [] }
        return buffered
    }
}
