import Foundation
import Logging
import ResticManagerCore
import ResticManagerCrypto
import ResticManagerProtocol

/// One agent `.deb` the server hands out, named as SPEC §13 fixes:
/// `restic-manager-agent_<version>_<arch>.deb`, `arch` a Debian name.
public struct AgentPackage: Sendable, Equatable {
    public let fileName: String
    public let version: SemanticVersion
    public let arch: String
    /// Lowercase hex SHA-256 of the file, carried by `install.sh`.
    public let sha256: String
    public let size: Int

    static let prefix = "restic-manager-agent_"

    /// The version and architecture in a package file name; nil for any
    /// other file (or a version that is not semantic, which could not be
    /// compared with an agent's).
    static func nameParts(_ fileName: String) -> (version: SemanticVersion, arch: String)? {
        guard fileName.hasPrefix(prefix), fileName.hasSuffix(".deb") else { return nil }
        let middle = fileName.dropFirst(prefix.count).dropLast(".deb".count)
        let parts = middle.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, let version = SemanticVersion(String(parts[0])),
            !parts[1].isEmpty, parts[1].allSatisfy({ $0.isLetter || $0.isNumber }), parts[1].allSatisfy(\.isASCII)
        else { return nil }
        return (version, String(parts[1]))
    }
}

/// The agent packages in `--packages-dir`, read once when the server
/// starts: installing a newer server package (which restarts the service)
/// is how new agent packages arrive, so there is nothing to watch.
public struct AgentPackageCatalog: Sendable {
    public let directory: String
    /// Newest first.
    public let packages: [AgentPackage]

    public init(directory: String, packages: [AgentPackage]) {
        self.directory = directory
        self.packages = packages.sorted { ($0.version, $0.arch) > ($1.version, $1.arch) }
    }

    /// Reads every package file in `directory`. A missing directory is an
    /// empty catalog (a server run from a build tree has none), said once.
    public static func load(directory: String, logger: Logger) -> AgentPackageCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            logger.notice("no agent packages to hand out: cannot read --packages-dir", metadata: ["path": "\(directory)"])
            return AgentPackageCatalog(directory: directory, packages: [])
        }
        var packages: [AgentPackage] = []
        for name in names {
            guard let parts = AgentPackage.nameParts(name) else { continue }
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                logger.warning("cannot read agent package", metadata: ["path": "\(path)"])
                continue
            }
            let bytes = [UInt8](data)
            packages.append(AgentPackage(fileName: name, version: parts.version, arch: parts.arch,
                                         sha256: FileDigest.sha256Hex(bytes), size: bytes.count))
        }
        let catalog = AgentPackageCatalog(directory: directory, packages: packages)
        logger.info("agent packages", metadata: [
            "path": "\(directory)", "files": "\(catalog.packages.map(\.fileName).joined(separator: ","))",
        ])
        return catalog
    }

    /// The file of that name, if it is one of the packages (never a path).
    public func package(named fileName: String) -> AgentPackage? {
        packages.first { $0.fileName == fileName }
    }

    /// The newest package of each architecture, by architecture name.
    public var newestPerArch: [AgentPackage] {
        var seen = Set<String>()
        return packages.filter { seen.insert($0.arch).inserted }.sorted { $0.arch < $1.arch }
    }

    /// The newest package for a host that reported `agentArch` in `hello`
    /// (the agent says `386` where Debian says `i386`).
    public func newest(forAgentArch agentArch: String) -> AgentPackage? {
        let debianArch = agentArch == "386" ? "i386" : agentArch
        return packages.first { $0.arch == debianArch }
    }

    /// The package an agent of `agentVersion` on `agentArch` should move
    /// to, or nil when it is up to date, has no package for its
    /// architecture, or reports a version that is not semantic (a
    /// developer build), which cannot be ordered.
    public func update(forAgentVersion agentVersion: String, arch agentArch: String) -> AgentPackage? {
        guard let running = SemanticVersion(agentVersion), let newest = newest(forAgentArch: agentArch),
            running < newest.version
        else { return nil }
        return newest
    }
}
