import Foundation
import Logging
import ResticManagerCore
import Testing

@testable import ResticManagerServer

@Suite("Agent packages and the installer")
struct AgentPackageCatalogTests {
    private func package(_ version: String, _ arch: String) -> AgentPackage {
        AgentPackage(fileName: "restic-manager-agent_\(version)_\(arch).deb", version: SemanticVersion(version)!,
                     arch: arch, sha256: String(repeating: "a", count: 64), size: 1)
    }

    @Test("only §13 file names with a semantic version are packages")
    func names() {
        #expect(AgentPackage.nameParts("restic-manager-agent_0.10.0_amd64.deb")?.arch == "amd64")
        #expect(AgentPackage.nameParts("restic-manager-agent_0.10.0_amd64.deb")?.version == SemanticVersion("0.10.0"))
        for name in ["restic-manager-server_0.1.0_amd64.deb", "restic-manager-agent_0.1_amd64.deb",
                     "restic-manager-agent_0.1.0_amd64.deb.part", "restic-manager-agent_0.1.0_am_d64.deb",
                     "restic-manager-agent_0.1.0_../x.deb", "restic-manager-agent_0.1.0_.deb", "notes.txt"] {
            #expect(AgentPackage.nameParts(name) == nil, "\(name)")
        }
    }

    @Test("the newest per architecture is chosen by version, not by string")
    func newest() {
        let catalog = AgentPackageCatalog(directory: "/x", packages: [
            package("0.9.0", "amd64"), package("0.10.0", "amd64"), package("0.2.0", "arm64"), package("0.3.0", "i386"),
        ])
        #expect(catalog.newestPerArch.map(\.fileName) == [
            "restic-manager-agent_0.10.0_amd64.deb", "restic-manager-agent_0.2.0_arm64.deb",
            "restic-manager-agent_0.3.0_i386.deb",
        ])
        #expect(catalog.update(forAgentVersion: "0.9.0", arch: "amd64")?.version == SemanticVersion("0.10.0"))
        #expect(catalog.update(forAgentVersion: "0.10.0", arch: "amd64") == nil)
        #expect(catalog.update(forAgentVersion: "0.11.0", arch: "amd64") == nil)
        #expect(catalog.update(forAgentVersion: "0.1.0", arch: "386")?.arch == "i386")
        #expect(catalog.update(forAgentVersion: "0.1.0", arch: "riscv64") == nil)
        #expect(catalog.update(forAgentVersion: "dev", arch: "amd64") == nil)
    }

    @Test("reads the directory and checksums each file")
    func load() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("abc".utf8).write(to: URL(fileURLWithPath: directory + "/restic-manager-agent_1.0.0_amd64.deb"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/other.deb"))
        let catalog = AgentPackageCatalog.load(directory: directory, logger: Logger(label: "test"))
        #expect(catalog.packages.map(\.fileName) == ["restic-manager-agent_1.0.0_amd64.deb"])
        // SHA-256("abc"), the FIPS 180-2 test vector.
        #expect(catalog.packages.first?.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(AgentPackageCatalog.load(directory: directory + "/missing", logger: Logger(label: "test")).packages.isEmpty)
    }

    @Test("placeholders are filled in one pass; values are quoted")
    func fill() {
        let filled = InstallScript.fill("A=@A@ B=@B@ @C@ a@b", with: ["A": "@B@", "B": "x", "C": "y"])
        #expect(filled == "A=@B@ B=x y a@b")
        #expect(InstallScript.shellQuoted("it's $(x)") == #"'it'\''s $(x)'"#)
        let script = InstallScript.render(
            serverURL: "http://h:1/'; rm -rf /", catalog: AgentPackageCatalog(directory: "/x", packages: [package("0.2.0", "amd64")]))
        #expect(script.contains(#"SERVER_URL='http://h:1/'\''; rm -rf /'"#))
        #expect(script.contains("    amd64) echo 'restic-manager-agent_0.2.0_amd64.deb \(String(repeating: "a", count: 64))' ;;"))
        #expect(script.contains("AGENT_VERSION='0.2.0'"))
        #expect(!script.contains("@PACKAGE_CASES@") && !script.contains("@SERVER_URL@"))
    }
}
