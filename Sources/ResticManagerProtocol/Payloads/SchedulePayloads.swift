import Foundation

/// One schedule as the agent sees it: what to run, when (cron, in the
/// host's time zone) and how.
public struct Schedule: Sendable, Equatable {
    public var id: String
    public var kind: JobKind
    /// Standard 5-field cron or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
    public var cronExpr: String
    public var paths: [String]
    public var excludes: [String]
    public var tags: [String]
    /// `{"keep_last", …, "prune"}` for `forget`; kept verbatim.
    public var retentionPolicy: RawJSON?
    /// Per-kind restic options; kept verbatim.
    public var options: RawJSON?
    /// Shell command run before restic (admin only: it executes on the host).
    public var preHook: String?
    /// Shell command run after restic, whatever happened.
    public var postHook: String?
    public var enabled: Bool

    public init(
        id: String,
        kind: JobKind,
        cronExpr: String,
        paths: [String] = [],
        excludes: [String] = [],
        tags: [String] = [],
        retentionPolicy: RawJSON? = nil,
        options: RawJSON? = nil,
        preHook: String? = nil,
        postHook: String? = nil,
        enabled: Bool = true
    ) {
        self.id = id
        self.kind = kind
        self.cronExpr = cronExpr
        self.paths = paths
        self.excludes = excludes
        self.tags = tags
        self.retentionPolicy = retentionPolicy
        self.options = options
        self.preHook = preHook
        self.postHook = postHook
        self.enabled = enabled
    }
}

extension Schedule: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        id = try object.string("id")
        kind = try object.enumeration("kind", as: JobKind.self)
        cronExpr = try object.string("cron_expr")
        paths = try object.strings("paths")
        excludes = try object.strings("excludes")
        tags = try object.strings("tags")
        retentionPolicy = object.raw("retention_policy")
        options = object.raw("options")
        preHook = try object.optionalString("pre_hook")
        postHook = try object.optionalString("post_hook")
        enabled = try object.bool("enabled")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("id", id)
        writer.string("kind", kind.rawValue)
        writer.string("cron_expr", cronExpr)
        writer.omitEmptyStrings("paths", paths)
        writer.omitEmptyStrings("excludes", excludes)
        writer.omitEmptyStrings("tags", tags)
        writer.omitEmptyRaw("retention_policy", retentionPolicy)
        writer.omitEmptyRaw("options", options)
        writer.omitEmptyString("pre_hook", preHook)
        writer.omitEmptyString("post_hook", postHook)
        writer.bool("enabled", enabled)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `schedule.set`: the host's complete schedule list. The agent replaces
/// its set atomically, persists it and answers `schedule.ack` with the
/// same ``version``.
public struct ScheduleSetPayload: Sendable, Equatable {
    /// Increases with every change to this host's schedules.
    public var version: Int64
    public var schedules: [Schedule]

    public init(version: Int64, schedules: [Schedule]) {
        self.version = version
        self.schedules = schedules
    }
}

extension ScheduleSetPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        version = try object.int64("version")
        schedules = try object.objects("schedules", as: Schedule.self)
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.integer("version", version)
        writer.objects("schedules", schedules)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `schedule.ack`: the agent has applied and persisted a schedule version.
public struct ScheduleAckPayload: Sendable, Equatable {
    public var version: Int64
    public var appliedAt: Date

    public init(version: Int64, appliedAt: Date = Date()) {
        self.version = version
        self.appliedAt = appliedAt
    }
}

extension ScheduleAckPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        version = try object.int64("version")
        appliedAt = try object.time("applied_at")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.integer("version", version)
        writer.time("applied_at", appliedAt)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}
