import Foundation

/// `hello`: the agent's first message after the WebSocket is authorized.
///
/// The server checks ``protocolVersion``, updates the host row, marks it
/// online and answers with `config.update` then `schedule.set`.
public struct HelloPayload: Sendable, Equatable {
    public var protocolVersion: Int
    public var agentVersion: String
    public var resticVersion: String
    public var hostname: String
    /// `linux`, `windows`, … — a plain string so other platforms still decode.
    public var os: String
    /// `amd64`, `arm64`, … — a plain string for the same reason.
    public var arch: String
    /// When the host booted; nil when unknown (Go's zero time on the wire).
    public var bootTime: Date?
    /// The host's IANA time zone (e.g. `Europe/Berlin`), which schedules run
    /// in. An addition to the original v1 payload; nil when not sent.
    public var timezone: String?
    /// Ids of the jobs the agent still holds: running, queued, or with
    /// events not yet acknowledged. The server fails its `running` jobs of
    /// this host that are not listed (`agent restarted during job`). An
    /// addition to v1; nil (not sent) means "don't infer anything".
    public var activeJobs: [String]?
    /// The folders this host lets restores write into (`--restore-to`,
    /// SPEC §10.3), resolved. An addition to v1; nil when not sent.
    public var restoreTargets: [String]?
    /// False when the agent runs no hooks (`--no-hooks`). An addition to
    /// v1; nil (not sent) means hooks run.
    public var hooksAllowed: Bool?

    public init(
        protocolVersion: Int = ProtocolVersion.current,
        agentVersion: String,
        resticVersion: String,
        hostname: String,
        os: String,
        arch: String,
        bootTime: Date? = nil,
        timezone: String? = nil,
        activeJobs: [String]? = nil,
        restoreTargets: [String]? = nil,
        hooksAllowed: Bool? = nil
    ) {
        self.protocolVersion = protocolVersion
        self.agentVersion = agentVersion
        self.resticVersion = resticVersion
        self.hostname = hostname
        self.os = os
        self.arch = arch
        self.bootTime = bootTime
        self.timezone = timezone
        self.activeJobs = activeJobs
        self.restoreTargets = restoreTargets
        self.hooksAllowed = hooksAllowed
    }
}

extension HelloPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        protocolVersion = try object.int("protocol_version")
        agentVersion = try object.string("agent_version")
        resticVersion = try object.string("restic_version")
        hostname = try object.string("hostname")
        os = try object.string("os")
        arch = try object.string("arch")
        bootTime = try object.optionalTime("boot_time")
        timezone = try object.optionalString("timezone")
        activeJobs = try object.optionalStrings("active_jobs")
        restoreTargets = try object.optionalStrings("restore_targets")
        hooksAllowed = try object.optionalBool("hooks_allowed")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.integer("protocol_version", protocolVersion)
        writer.string("agent_version", agentVersion)
        writer.string("restic_version", resticVersion)
        writer.string("hostname", hostname)
        writer.string("os", os)
        writer.string("arch", arch)
        writer.optionalTime("boot_time", bootTime)
        writer.omitEmptyString("timezone", timezone)
        writer.optionalStrings("active_jobs", activeJobs)
        writer.optionalStrings("restore_targets", restoreTargets)
        writer.optionalBool("hooks_allowed", hooksAllowed)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `heartbeat`: sent by the agent every 30 s; its arrival is the signal.
public struct HeartbeatPayload: Sendable, Equatable {
    public var sentAt: Date

    public init(sentAt: Date = Date()) {
        self.sentAt = sentAt
    }
}

extension HeartbeatPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        sentAt = try object.time("sent_at")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.time("sent_at", sentAt)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `config.update`: the host's repository settings, pushed after every
/// `hello` and every change. A nil (or empty) field means "leave as is".
///
/// Carries secrets, so `description`, `debugDescription` and mirrors redact
/// ``repoPassword`` and ``repoCredential``: printing a message never leaks
/// them into a log.
public struct ConfigUpdatePayload: Sendable, Equatable {
    public var repoURL: String?
    /// Sensitive.
    public var repoPassword: String?
    public var repoUsername: String?
    /// Sensitive: HTTP basic-auth password for `rest:` repositories.
    public var repoCredential: String?
    public var hookShell: String?

    public init(
        repoURL: String? = nil,
        repoPassword: String? = nil,
        repoUsername: String? = nil,
        repoCredential: String? = nil,
        hookShell: String? = nil
    ) {
        self.repoURL = repoURL
        self.repoPassword = repoPassword
        self.repoUsername = repoUsername
        self.repoCredential = repoCredential
        self.hookShell = hookShell
    }
}

extension ConfigUpdatePayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        repoURL = try object.optionalString("repo_url")
        repoPassword = try object.optionalString("repo_password")
        repoUsername = try object.optionalString("repo_username")
        repoCredential = try object.optionalString("repo_credential")
        hookShell = try object.optionalString("hook_shell")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.omitEmptyString("repo_url", repoURL)
        writer.omitEmptyString("repo_password", repoPassword)
        writer.omitEmptyString("repo_username", repoUsername)
        writer.omitEmptyString("repo_credential", repoCredential)
        writer.omitEmptyString("hook_shell", hookShell)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

extension ConfigUpdatePayload: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private static func redacted(_ secret: String?) -> String {
        secret == nil ? "nil" : "<redacted>"
    }

    public var description: String {
        "ConfigUpdatePayload(repoURL: \(repoURL.map { "\"\($0)\"" } ?? "nil"), "
            + "repoPassword: \(Self.redacted(repoPassword)), "
            + "repoUsername: \(repoUsername.map { "\"\($0)\"" } ?? "nil"), "
            + "repoCredential: \(Self.redacted(repoCredential)), "
            + "hookShell: \(hookShell.map { "\"\($0)\"" } ?? "nil"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "repoURL": repoURL as Any,
                "repoPassword": Self.redacted(repoPassword),
                "repoUsername": repoUsername as Any,
                "repoCredential": Self.redacted(repoCredential),
                "hookShell": hookShell as Any,
            ]
        )
    }
}

/// `agent.update_available`: informational only; the agent never updates
/// itself (packages do).
public struct AgentUpdateAvailablePayload: Sendable, Equatable {
    public var latestVersion: String
    /// Where to get it: apt repository, Chocolatey source, …
    public var packageURL: String
    public var changelog: String?

    public init(latestVersion: String, packageURL: String, changelog: String? = nil) {
        self.latestVersion = latestVersion
        self.packageURL = packageURL
        self.changelog = changelog
    }
}

extension AgentUpdateAvailablePayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        latestVersion = try object.string("latest_version")
        packageURL = try object.string("package_url")
        changelog = try object.optionalString("changelog")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("latest_version", latestVersion)
        writer.string("package_url", packageURL)
        writer.omitEmptyString("changelog", changelog)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}
