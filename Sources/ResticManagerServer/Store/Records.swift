import Foundation
import GRDB
import ResticManagerProtocol

/// Records are plain structs mirroring one table row each; their columns use
/// snake_case while Swift properties stay camelCase.
/// They are written through `StoreTransaction` (RecordStatements.swift), never
/// through GRDB's own persistence, which would tie them to SQLite.
protocol SnakeCaseRecord: Codable, FetchableRecord, EncodableRecord, TableRecord {}

/// A record whose table is keyed by its `id` column.
protocol IdentifiedRecord: SnakeCaseRecord {}

extension SnakeCaseRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// What a user may do. Roles are ordered: each includes the ones below it.
public enum Role: String, Codable, Sendable, Comparable, CaseIterable, DatabaseValueConvertible {
    case viewer, `operator`, admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

public struct UserRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "users"
    public var id: UserID
    public var username: String
    public var passwordHash: String
    public var role: Role
    public var disabled: Bool
    public var createdAt: Date
    public var lastLoginAt: Date?
}

struct SessionRecord: IdentifiedRecord, Sendable {
    static let databaseTableName = "sessions"
    var id: SessionID
    var userId: UserID
    var tokenHash: String
    var createdAt: Date
    var expiresAt: Date
    var lastSeenAt: Date
    var userAgent: String
    var ip: String
}

public struct APITokenRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "api_tokens"
    public var id: APITokenID
    public var userId: UserID
    public var name: String
    public var tokenHash: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var expiresAt: Date?
}

public struct EnrollmentTokenRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "enrollment_tokens"
    public var id: EnrollmentTokenID
    public var tokenHash: String
    public var note: String
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?
    public var usedByHostId: HostID?
    public var replaceHostId: HostID?
}

public struct HostRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "hosts"
    public var id: HostID
    public var name: String
    public var hostname: String
    public var os: String
    public var arch: String
    public var agentVersion: String
    public var resticVersion: String
    public var agentTokenHash: String
    public var enrolledAt: Date
    public var lastSeenAt: Date?
    public var connected: Bool
    public var bootTime: Date?
    public var timezone: String?
    public var notes: String
    public var revokedAt: Date?
    /// The folders the agent lets restores write into (`--restore-to`), as
    /// its last `hello` said; empty: no restore on this host.
    public var restoreTargets: [String] = []
    /// False when the agent runs with `--no-hooks`.
    public var hooksAllowed = true
}

struct HostConfigRecord: SnakeCaseRecord, Sendable {
    static let databaseTableName = "host_config"
    var hostId: HostID
    var repoUrl: String
    var repoUsername: String
    var repoPasswordEnc: Data?
    var repoCredentialEnc: Data?
    var hookShell: String
    var updatedAt: Date
}

public struct ScheduleRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "schedules"
    public var id: ScheduleID
    public var hostId: HostID
    public var kind: JobKind
    public var cronExpr: String
    public var paths: [String]
    public var excludes: [String]
    public var tags: [String]
    /// Raw JSON text, stored verbatim.
    public var retentionPolicy: String?
    /// Raw JSON text, stored verbatim.
    public var options: String?
    public var preHook: String
    public var postHook: String
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// The sealed ping URL (SPEC §9.3); server-side only, never sent to agents.
    public var pingUrlEnc: Data?
    /// Cron runs before this are not expected: creation, enabling or a new cron.
    public var runsExpectedSince: Date?
}

public struct ScheduleVersionRecord: SnakeCaseRecord, Sendable, Equatable {
    public static let databaseTableName = "host_schedule_version"
    public var hostId: HostID
    public var desiredVersion: Int64
    public var ackedVersion: Int64
    public var ackedAt: Date?
    /// When `desiredVersion` last changed.
    public var desiredAt: Date?
}

public struct JobRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "jobs"
    public var id: JobID
    public var hostId: HostID
    public var scheduleId: ScheduleID?
    public var kind: JobKind
    public var trigger: JobTrigger
    public var args: [String]
    public var status: JobStatus
    public var queuedAt: Date
    public var dispatchedAt: Date?
    public var acceptedAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var expiresAt: Date?
    public var exitCode: Int?
    /// restic's summary, raw JSON text stored verbatim.
    public var stats: String?
    public var error: String?
    /// The latest `job.progress` payload, as JSON text.
    public var progress: String?
    public var requestedBy: String?
    /// What a `restore` job restores and where; nil for other kinds.
    public var restore: JobRestore?
}

/// A restore job's request as stored and shown (SPEC §10.2); never the
/// source repository's secrets, which the server reads from the source
/// host's config when it dispatches the job.
public struct JobRestore: Codable, Sendable, Equatable {
    public var snapshotId: String
    public var include: [String]
    public var target: String
    /// The host whose repository holds the snapshot.
    public var sourceHostId: HostID
    public var verify: Bool
}

public struct JobLogRecord: SnakeCaseRecord, Sendable, Equatable {
    public static let databaseTableName = "job_logs"
    public var jobId: JobID
    public var seq: Int64
    public var ts: Date
    public var stream: String
    public var payload: String
}

public struct SnapshotRecord: SnakeCaseRecord, Sendable, Equatable {
    public static let databaseTableName = "snapshots"
    public var hostId: HostID
    public var snapshotId: String
    public var time: Date
    public var hostname: String
    public var paths: [String]
    public var tags: [String]
    public var sizeBytes: Int64
    public var fileCount: Int64
}

public struct RepoStatsRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "repo_stats"
    public var id: Int64?
    public var hostId: HostID
    public var reportedAt: Date
    public var sizeBytes: Int64
    public var snapshotCount: Int64
    public var dedupRatio: Double
    public var lastCheckAt: Date?
    public var lastCheckStatus: String?
    public var lockState: String
}

public struct AuditRecord: IdentifiedRecord, Sendable, Equatable {
    public static let databaseTableName = "audit_log"
    public var id: Int64?
    public var ts: Date
    public var actor: String
    public var action: String
    public var targetType: String
    public var targetId: String
    /// JSON object text. Never holds a secret: callers pass only names and ids.
    public var details: String
    public var ip: String
}

extension JobKind: DatabaseValueConvertible {}
extension JobStatus: DatabaseValueConvertible {}
extension JobTrigger: DatabaseValueConvertible {}

extension HostRecord {
    /// The zone the agent runs this host's schedules in (it reports it in
    /// `hello`); UTC until it has.
    public var scheduleTimeZone: TimeZone {
        timezone.flatMap(TimeZone.init(identifier:)) ?? .utc
    }
}

extension TimeZone {
    static let utc = TimeZone(identifier: "UTC")!
}

extension ScheduleVersionRecord {
    /// Whether the agent has acknowledged the newest schedule set.
    public var inSync: Bool { ackedVersion >= desiredVersion }
}
