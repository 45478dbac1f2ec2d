import ResticManagerProtocol

/// Where a host's restic repository is and how to open it: the agent's
/// view of the host config the server pushes with `config.update`.
///
/// Holds secrets (``password``, ``credential``), so its `description`
/// redacts them: interpolating a config into a log message is safe.
public struct RepositoryConfig: Sendable, Equatable {
    /// restic's repository location: a path, `rest:http://…`, `s3:…`, …
    /// Without credentials; see ``username`` and ``credential``.
    public var url: String
    /// The repository password. Sensitive.
    public var password: String
    /// Backend user: HTTP basic-auth user for `rest:`, the access key id for
    /// `s3:`, the account for `b2:` and `azure:`. Empty when unused.
    public var username: String
    /// Backend secret that goes with ``username``. Sensitive.
    public var credential: String
    /// The shell hooks run in, e.g. `/bin/sh -c`; empty for the platform
    /// default (``Platform/defaultHookShell``).
    public var hookShell: String

    public init(url: String, password: String, username: String = "", credential: String = "", hookShell: String = "") {
        self.url = url
        self.password = password
        self.username = username
        self.credential = credential
        self.hookShell = hookShell
    }

    /// The secrets that must never reach a log, an event or an error.
    var secrets: [String] { [password, credential].filter { !$0.isEmpty } }
}

extension RepositoryConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "RepositoryConfig(url: \"\(ResticCommandBuilder.redactedURL(url))\", password: <redacted>, "
            + "username: \"\(username)\", credential: \(credential.isEmpty ? "\"\"" : "<redacted>"), "
            + "hookShell: \"\(hookShell)\")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "url": ResticCommandBuilder.redactedURL(url),
                "password": "<redacted>",
                "username": username,
                "credential": "<redacted>",
                "hookShell": hookShell,
            ]
        )
    }
}

extension RepositoryConfig {
    /// Another host's repository, for a cross-host restore or browse; hooks
    /// never run with it.
    init(source: RepositorySource) {
        self.init(url: source.repoURL, password: source.repoPassword, username: source.repoUsername,
                  credential: source.repoCredential)
    }
}
