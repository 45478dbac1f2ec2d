// Windows support is written against swift-subprocess's Windows API but has
// not been compiled or run yet: treat it as a starting point.
#if os(Windows)
import Foundation
import Subprocess
import WinSDK

extension Platform {
    /// Where `restic-manager-agent` keeps its state unless `--state-dir`
    /// says otherwise: `%ProgramData%\restic-manager-agent`.
    public static var defaultStateDirectory: String {
        let programData =
            ProcessInfo.processInfo.environment["ProgramData"] ?? #"C:\ProgramData"#
        return programData + #"\restic-manager-agent"#
    }

    /// The shell hooks run in when the host config names none (SPEC §5).
    public static let defaultHookShell = "powershell -NoProfile -Command"

    static let resticExecutableName = "restic.exe"

    static let pathListSeparator: Character = ";"

    /// Each child gets its own process group (so CTRL_BREAK reaches only
    /// it) inside the job object swift-subprocess creates.
    static func childProcessOptions(interruptGrace: Duration) -> PlatformOptions {
        var options = PlatformOptions()
        options.createProcessGroup = true
        options.teardownSequence = [
            .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: interruptGrace)
        ]
        return options
    }

    /// Windows has no SIGINT: CTRL_BREAK_EVENT to the child's process group
    /// is the closest thing, and restic treats it like Ctrl-C.
    static func requestStop(of process: ProcessIdentifier, reason: ChildProcess.StopReason) {
        _ = GenerateConsoleCtrlEvent(DWORD(CTRL_BREAK_EVENT), process.value)
    }

    /// Terminates the child. swift-subprocess keeps the job object that
    /// holds its descendants to itself; they go when that job is closed
    /// after the child has exited.
    static func forceKill(_ process: ProcessIdentifier) {
        _ = TerminateProcess(process.processDescriptor, 1)
    }

    /// Returns once `process` has exited (without closing its handle).
    static func waitForExit(of process: ProcessIdentifier) async {
        while WaitForSingleObject(process.processDescriptor, 0) == WAIT_TIMEOUT {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }

    static func exitCode(forSignal signal: Int32) -> Int { Int(signal) }
}
#endif
