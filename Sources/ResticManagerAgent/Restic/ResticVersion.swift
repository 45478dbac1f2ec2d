/// A restic release number, compared numerically (`0.9.6 < 0.14.0`).
public struct ResticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `0.14.0`, `0.16.4-dev`, `v0.17.1`; nil for anything else.
    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("v") { text = text.dropFirst() }
        let core = text.prefix { $0.isNumber || $0 == "." }
        let parts = core.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count >= 2, parts.count <= 3, let major = parts[0], let minor = parts[1] else { return nil }
        let patch = parts.count == 3 ? parts[2] : 0
        guard let patch else { return nil }
        self.init(major: major, minor: minor, patch: patch)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    /// The first release with `--compression` (repository format 2).
    public static let compressionSupport = ResticVersion(major: 0, minor: 14)

    /// Whether this release understands `--compression`.
    public var supportsCompression: Bool { self >= Self.compressionSupport }
}
