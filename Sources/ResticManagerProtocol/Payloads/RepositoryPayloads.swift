import Foundation

/// One snapshot, projected from `restic snapshots --json`.
public struct Snapshot: Sendable, Equatable {
    /// restic's snapshot id.
    public var id: String
    public var time: Date
    public var hostname: String
    public var paths: [String]
    public var tags: [String]
    /// Nil when unknown (restic 0.14 does not report it); 0 is sent as absent.
    public var sizeBytes: Int64?
    /// Nil when unknown; 0 is sent as absent.
    public var fileCount: Int64?

    public init(
        id: String,
        time: Date,
        hostname: String,
        paths: [String],
        tags: [String] = [],
        sizeBytes: Int64? = nil,
        fileCount: Int64? = nil
    ) {
        self.id = id
        self.time = time
        self.hostname = hostname
        self.paths = paths
        self.tags = tags
        self.sizeBytes = sizeBytes
        self.fileCount = fileCount
    }
}

extension Snapshot: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        id = try object.string("id")
        time = try object.time("time")
        hostname = try object.string("hostname")
        paths = try object.strings("paths")
        tags = try object.strings("tags")
        sizeBytes = try object.optionalInt64("size_bytes")
        fileCount = try object.optionalInt64("file_count")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("id", id)
        writer.time("time", time)
        writer.string("hostname", hostname)
        writer.strings("paths", paths)
        writer.omitEmptyStrings("tags", tags)
        writer.omitEmptyInteger("size_bytes", sizeBytes)
        writer.omitEmptyInteger("file_count", fileCount)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `snapshots.report`: the repository's complete snapshot list, sent after
/// each backup, forget and prune, so the server can replace its copy.
public struct SnapshotsReportPayload: Sendable, Equatable {
    public var snapshots: [Snapshot]

    public init(snapshots: [Snapshot]) {
        self.snapshots = snapshots
    }
}

extension SnapshotsReportPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        snapshots = try object.objects("snapshots", as: Snapshot.self)
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.objects("snapshots", snapshots)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `repo.stats`: repository health from `restic stats --mode raw-data`
/// and lock inspection.
public struct RepoStatsPayload: Sendable, Equatable {
    public var sizeBytes: Int64
    public var snapshotCount: Int
    public var dedupRatio: Double
    /// When `restic check` last ran; nil when never (Go's zero time on the wire).
    public var lastCheckAt: Date?
    public var lastCheckStatus: String?
    /// `locked` or `unlocked`.
    public var lockState: String

    public init(
        sizeBytes: Int64,
        snapshotCount: Int,
        dedupRatio: Double,
        lastCheckAt: Date? = nil,
        lastCheckStatus: String? = nil,
        lockState: String
    ) {
        self.sizeBytes = sizeBytes
        self.snapshotCount = snapshotCount
        self.dedupRatio = dedupRatio
        self.lastCheckAt = lastCheckAt
        self.lastCheckStatus = lastCheckStatus
        self.lockState = lockState
    }
}

extension RepoStatsPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        sizeBytes = try object.int64("size_bytes")
        snapshotCount = try object.int("snapshot_count")
        dedupRatio = try object.double("dedup_ratio")
        lastCheckAt = try object.optionalTime("last_check_at")
        lastCheckStatus = try object.optionalString("last_check_status")
        lockState = try object.string("lock_state")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.integer("size_bytes", sizeBytes)
        writer.integer("snapshot_count", snapshotCount)
        writer.double("dedup_ratio", dedupRatio)
        writer.optionalTime("last_check_at", lastCheckAt)
        writer.omitEmptyString("last_check_status", lastCheckStatus)
        writer.string("lock_state", lockState)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}
