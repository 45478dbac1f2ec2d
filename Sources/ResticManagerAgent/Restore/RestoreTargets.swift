import Foundation
import ResticManagerProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folders this host lets restores write into: `run --restore-to DIR`
/// (SPEC §10.3). The host's own consent, checked by the agent on every
/// restore whatever the server says, so a compromised server cannot write
/// files anywhere else on the host.
///
/// A target is allowed when, after resolving `..` and every symbolic link
/// on the way, it lies inside one of the folders, and it does not exist
/// yet or is an empty folder. The check returns the resolved path, and
/// restic is given that path, not the one the server sent.
public struct RestoreTargets: Sendable, Equatable {
    /// The allowed folders, resolved (real paths), in the order given.
    public let folders: [String]

    /// No restore at all: the default.
    public static let none = RestoreTargets(resolvedFolders: [])


    private init(resolvedFolders: [String]) {
        folders = resolvedFolders
    }

    /// Resolves the `--restore-to` folders; each must be an existing
    /// directory given by its absolute path.
    public init(resolving paths: [String]) throws(RestoreTargetsError) {
        var folders: [String] = []
        for path in paths {
            guard path.hasPrefix("/") else { throw .notAbsolute(path) }
            guard let real = Self.realPath(path) else { throw .missing(path) }
            guard Self.isDirectory(real) else { throw .notADirectory(path) }
            if !folders.contains(real) { folders.append(real) }
        }
        self.folders = folders
    }

    /// The resolved target if a restore may write there, else why not.
    public func check(_ target: String) -> Result<String, CommandRefusal> {
        guard !folders.isEmpty else { return .failure(CommandRefusal(RestoreArguments.notAllowedMessage)) }
        guard target.hasPrefix("/"), !target.contains("\0") else {
            return .failure(CommandRefusal("restore target must be an absolute path"))
        }
        let resolved: String
        switch Self.resolve(target) {
        case .success(let path): resolved = path
        case .failure(let refusal): return .failure(refusal)
        }
        guard folders.contains(where: { RestoreArguments.path(resolved, isInside: $0) }) else {
            let via = resolved == target ? "" : " (it resolves to \(resolved))"
            return .failure(CommandRefusal(
                "restore target \(target)\(via) is outside the folders this host allows restores into: "
                    + folders.joined(separator: ", ")))
        }
        var status = stat()
        guard lstat(resolved, &status) == 0 else { return .success(resolved) }
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            return .failure(CommandRefusal("restore target \(target) exists and is not a folder"))
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: resolved)) ?? [""]
        guard entries.isEmpty else {
            return .failure(CommandRefusal(
                "restore target \(target) is not empty; restore into a new or empty folder so nothing is overwritten"))
        }
        return .success(resolved)
    }

    /// `target` with every existing component resolved (symbolic links and
    /// `..` as the kernel sees them) and the components that do not exist
    /// yet appended; `..` among those is refused, as is a dangling link,
    /// which restic would follow to wherever it points.
    static func resolve(_ target: String) -> Result<String, CommandRefusal> {
        var resolved = "/"
        var rest = target.split(separator: "/", omittingEmptySubsequences: true)[...]
        while let component = rest.first {
            let candidate = (resolved == "/" ? "" : resolved) + "/" + component
            var status = stat()
            guard lstat(candidate, &status) == 0 else { break }
            guard let real = realPath(candidate) else {
                return .failure(CommandRefusal(
                    "restore target \(target) goes through \(candidate), a symbolic link that points nowhere"))
            }
            resolved = real
            rest = rest.dropFirst()
        }
        for component in rest {
            if component == "." { continue }
            if component == ".." {
                return .failure(CommandRefusal("restore target \(target) has \"..\" below a folder that does not exist"))
            }
            resolved += (resolved == "/" ? "" : "/") + component
        }
        return .success(resolved)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

/// A `--restore-to` folder the agent cannot use.
public enum RestoreTargetsError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAbsolute(String)
    case missing(String)
    case notADirectory(String)

    public var description: String {
        switch self {
        case .notAbsolute(let path): "--restore-to \(path) must be an absolute path"
        case .missing(let path): "--restore-to \(path) does not exist; create the folder first"
        case .notADirectory(let path): "--restore-to \(path) is not a folder"
        }
    }
}
