import Foundation

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// The restic binary this agent runs, and its release (reported in
/// `hello` as `restic_version`).
public struct ResticInstallation: Sendable, Equatable {
    /// Absolute path of the executable.
    public let path: String
    /// The release `restic version` printed, e.g. `0.14.0`.
    public let version: String

    public init(path: String, version: String) {
        self.path = path
        self.version = version
    }

    /// ``version`` parsed; nil if restic printed something unexpected.
    public var parsedVersion: ResticVersion? { ResticVersion(version) }

    /// Finds restic at `configuredPath` (a path, or a bare name looked up on
    /// `PATH`) or, without one, on `PATH`, and asks it for its version.
    /// Nil when there is no runnable restic; jobs then fail with
    /// ``JobOutcome/resticNotFound(configuredPath:)``.
    public static func locate(configuredPath: String?) async -> ResticInstallation? {
        let wanted = configuredPath.flatMap { $0.isEmpty ? nil : $0 } ?? Platform.resticExecutableName
        let candidates =
            wanted.contains("/") || wanted.contains("\\")
            ? [wanted]
            : searchPath().map { FilePath($0).appending(wanted).string }
        for candidate in candidates where Platform.isExecutableFile(candidate) {
            if let version = await version(of: candidate) {
                return ResticInstallation(path: absolute(candidate), version: version)
            }
        }
        return nil
    }

    /// Runs `restic version` (`restic 0.14.0 compiled with go1.19.8 on
    /// linux/amd64`) and returns the release, or nil.
    static func version(of path: String) async -> String? {
        let child = ChildProcess(
            executable: .path(path),
            arguments: ["version"],
            environment: [:],
            timeout: .seconds(30),
            stopGrace: .seconds(2),
            stopsOnTaskCancellation: true
        )
        var lines: [String] = []
        guard let result = try? await child.run(onLine: { if $0.stream == .stdout { lines.append($0.text) } }),
            result.termination == .exited(0)
        else { return nil }
        return lines.lazy.compactMap(parseVersion).first
    }

    /// `restic 0.14.0 compiled with …` → `0.14.0`.
    static func parseVersion(_ line: String) -> String? {
        let words = line.split(separator: " ")
        guard words.count >= 2, words[0] == "restic", ResticVersion(String(words[1])) != nil else { return nil }
        return String(words[1])
    }

    private static func searchPath() -> [String] {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: Platform.pathListSeparator).map(String.init).filter { !$0.isEmpty }
    }

    private static func absolute(_ path: String) -> String {
        let filePath = FilePath(path)
        guard !filePath.isAbsolute else { return path }
        return FilePath(FileManager.default.currentDirectoryPath).pushing(filePath).string
    }
}
