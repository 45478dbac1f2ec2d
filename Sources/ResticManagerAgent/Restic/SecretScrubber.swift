/// Replaces secrets in text the agent passes on (log lines, events, error
/// messages). A second line of defence: restic is never given a secret on
/// its command line and does not print its password, but a backend error
/// could echo a URL with credentials, and a hook can print anything.
struct SecretScrubber: Sendable {
    static let replacement = "***"

    private let secrets: [String]

    init(secrets: [String]) {
        // Longest first, so a secret that contains another is replaced whole.
        self.secrets = Array(Set(secrets.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }

    func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacing(secret, with: Self.replacement)
        }
        return text
    }
}
