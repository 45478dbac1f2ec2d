// Linux is the production target; the same POSIX code also serves macOS
// during development, hence `!os(Windows)` rather than `os(Linux)`.
#if !os(Windows)
import Foundation
import Subprocess

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Platform {
    /// Where `restic-manager-agent` keeps its credential, config, schedules
    /// and outbox unless `--state-dir` says otherwise.
    public static let defaultStateDirectory = "/var/lib/restic-manager-agent"

    /// The shell hooks run in when the host config names none (SPEC §5).
    public static let defaultHookShell = "/bin/sh -c"

    /// The name restic's executable has on this platform.
    static let resticExecutableName = "restic"

    /// Separator of the `PATH` environment variable.
    static let pathListSeparator: Character = ":"

    /// Options for every child the agent starts: each child leads a new
    /// session, so it and everything it spawns (restic's ssh or rclone,
    /// a hook's pipeline) form one process group we can signal together,
    /// and a Ctrl-C on the agent's terminal does not reach them directly.
    static func childProcessOptions(interruptGrace: Duration) -> PlatformOptions {
        var options = PlatformOptions()
        options.createSession = true
        // Only used if swift-subprocess itself has to tear the child down
        // (our own stop logic in `ChildProcess` normally does it first).
        options.teardownSequence = [
            .send(signal: .interrupt, toProcessGroup: true, allowedDurationToNextStep: interruptGrace)
        ]
        return options
    }

    /// Asks the child's whole process group to stop: SIGINT for a cancel
    /// (restic then removes its lock and exits), SIGTERM for a timeout.
    static func requestStop(of process: ProcessIdentifier, reason: ChildProcess.StopReason) {
        let signal = reason == .cancelled ? SIGINT : SIGTERM
        // With `createSession` the child's pid is also its process group id.
        _ = kill(-process.value, signal)
    }

    /// Kills the child's whole process group: the end of the grace period.
    static func forceKill(_ process: ProcessIdentifier) {
        _ = kill(-process.value, SIGKILL)
    }

    /// Returns once `process` has exited, without reaping it (swift-subprocess
    /// does that). Only needed when a child closed its stdout and stderr but
    /// kept running, which is rare, so a short poll is fine.
    static func waitForExit(of process: ProcessIdentifier) async {
        var delay = Duration.milliseconds(5)
        while !hasExited(process) {
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(200))
        }
    }

    private static func hasExited(_ process: ProcessIdentifier) -> Bool {
        #if os(Linux)
        // A pidfd becomes readable when its process exits.
        if process.processDescriptor >= 0 {
            var descriptor = pollfd(fd: process.processDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 0)
            if ready >= 0 { return ready > 0 }
        }
        // Without a pidfd: exited if /proc shows a zombie, or nothing.
        guard let stat = try? String(contentsOfFile: "/proc/\(process.value)/stat", encoding: .utf8),
            let nameEnd = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: nameEnd)...].trimmingCharacters(in: .whitespaces).first
        return state == "Z" || state == "X"
        #else
        return true
        #endif
    }

    /// Whether `path` names an executable regular file.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// Exit code shells report for a child killed by `signal`.
    static func exitCode(forSignal signal: Int32) -> Int { 128 + Int(signal) }
}
#endif
