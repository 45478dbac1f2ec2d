import Foundation
import ResticManagerProtocol

/// `GET /install.sh` (SPEC §13): the installer template compiled into the
/// binary, filled in with this server's URL and the name and SHA-256 of
/// each architecture's newest agent package. The checksum travels in the
/// script, so a package changed on the way (or on disk after the server
/// read it) is refused by the host.
enum InstallScript {
    static let template = String(decoding: PackageResources.install_sh, as: UTF8.self)

    static func render(serverURL: String, catalog: AgentPackageCatalog) -> String {
        let newest = catalog.newestPerArch
        let cases = newest.map { package in
            "    \(package.arch)) echo \(shellQuoted("\(package.fileName) \(package.sha256)")) ;;"
        }.joined(separator: "\n")
        let arches = newest.isEmpty
            ? "none: its --packages-dir holds no agent packages"
            : newest.map(\.arch).joined(separator: ", ")
        let version = catalog.packages.first.map { $0.version.description } ?? releaseVersion
        return fill(template, with: [
            "SERVER_URL_TEXT": commentSafe(serverURL), "SERVER_URL": shellQuoted(serverURL),
            "AGENT_VERSION": shellQuoted(version), "PACKAGE_CASES": cases, "ARCHES": arches,
        ])
    }

    /// Replaces each `@NAME@` in one pass over the template, so text put in
    /// (a URL from the request's Host header) is never searched again.
    static func fill(_ template: String, with values: [String: String]) -> String {
        var output = ""
        var rest = template[...]
        while let at = rest.firstIndex(of: "@") {
            output += rest[..<at]
            let after = rest[rest.index(after: at)...]
            if let end = after.firstIndex(of: "@"), let value = values[String(after[..<end])] {
                output += value
                rest = after[after.index(after: end)...]
            } else {
                output += "@"
                rest = after
            }
        }
        return output + rest
    }

    /// One single-quoted shell word, whatever the text holds.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The URL as comment text: a control character could end the comment
    /// line and turn the rest into a command.
    private static func commentSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
    }
}
