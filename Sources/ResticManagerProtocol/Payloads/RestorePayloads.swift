import Foundation

/// Another host's repository, for a restore or browse that reads a snapshot
/// the target host does not hold itself (SPEC §10.2). Only admins can make
/// the server send it, and it travels only inside the socket.
///
/// Carries secrets, so `description`, `debugDescription` and mirrors redact
/// ``repoPassword`` and ``repoCredential``.
public struct RepositorySource: Sendable, Equatable {
    public var repoURL: String
    public var repoUsername: String
    /// Sensitive.
    public var repoPassword: String
    /// Sensitive.
    public var repoCredential: String

    public init(repoURL: String, repoUsername: String = "", repoPassword: String, repoCredential: String = "") {
        self.repoURL = repoURL
        self.repoUsername = repoUsername
        self.repoPassword = repoPassword
        self.repoCredential = repoCredential
    }
}

extension RepositorySource: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        repoURL = try object.string("repo_url")
        repoUsername = try object.string("repo_username")
        repoPassword = try object.string("repo_password")
        repoCredential = try object.string("repo_credential")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("repo_url", repoURL)
        writer.omitEmptyString("repo_username", repoUsername)
        writer.string("repo_password", repoPassword)
        writer.omitEmptyString("repo_credential", repoCredential)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

extension RepositorySource: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "RepositorySource(repoURL: \"\(repoURL)\", repoUsername: \"\(repoUsername)\", repoPassword: <redacted>, "
            + "repoCredential: \(repoCredential.isEmpty ? "\"\"" : "<redacted>"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["repoURL": repoURL, "repoUsername": repoUsername, "repoPassword": "<redacted>",
                                "repoCredential": "<redacted>"])
    }
}

/// What a `restore` job restores and where (SPEC §10.2): the `restore`
/// object of `command.run`, an addition to v1.
public struct RestoreRequest: Sendable, Equatable {
    /// restic's snapshot id (full or short).
    public var snapshotID: String
    /// Absolute paths inside the snapshot; empty restores the whole snapshot.
    public var include: [String]
    /// Directory on the target host; restic writes each file at
    /// `target/<its original absolute path>`.
    public var target: String
    /// Passes `--verify`: restic reads every restored file back.
    public var verify: Bool

    public init(snapshotID: String, include: [String] = [], target: String, verify: Bool = false) {
        self.snapshotID = snapshotID
        self.include = include
        self.target = target
        self.verify = verify
    }
}

extension RestoreRequest: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        snapshotID = try object.string("snapshot_id")
        include = try object.strings("include")
        target = try object.string("target")
        verify = try object.bool("verify")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("snapshot_id", snapshotID)
        writer.omitEmptyStrings("include", include)
        writer.string("target", target)
        if verify { writer.bool("verify", true) }
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `snapshot.ls`: list one folder of a snapshot (SPEC §10.1). A request
/// answered directly with `snapshot.ls.result`, not through the outbox: a
/// browse that fails is simply asked again.
public struct SnapshotLsRequest: Sendable, Equatable {
    /// Chosen by the server; the result carries it back.
    public var requestID: String
    public var snapshotID: String
    /// Absolute folder path inside the snapshot; `/` for its root.
    public var path: String
    /// Another host's repository; nil for this host's own.
    public var source: RepositorySource?

    public init(requestID: String, snapshotID: String, path: String, source: RepositorySource? = nil) {
        self.requestID = requestID
        self.snapshotID = snapshotID
        self.path = path
        self.source = source
    }
}

extension SnapshotLsRequest: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        requestID = try object.string("request_id")
        snapshotID = try object.string("snapshot_id")
        path = try object.string("path")
        source = try object.optionalObject("source", as: RepositorySource.self)
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("request_id", requestID)
        writer.string("snapshot_id", snapshotID)
        writer.string("path", path)
        writer.optionalObject("source", source)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// One entry of a snapshot folder, from `restic ls --json`.
public struct SnapshotNode: Sendable, Equatable {
    public var name: String
    /// restic's node type: `file`, `dir`, `symlink`, `dev`, `chardev`,
    /// `fifo`, `socket` — a plain string so new types still decode.
    public var type: String
    /// Absolute path inside the snapshot.
    public var path: String
    /// Bytes, for files; 0 otherwise.
    public var size: Int64
    public var mtime: Date?
    /// restic's mode: Go's `os.FileMode` bits (type bits high, permissions low).
    public var mode: Int64

    public init(name: String, type: String, path: String, size: Int64 = 0, mtime: Date? = nil, mode: Int64 = 0) {
        self.name = name
        self.type = type
        self.path = path
        self.size = size
        self.mtime = mtime
        self.mode = mode
    }
}

extension SnapshotNode: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        name = try object.string("name")
        type = try object.string("type")
        path = try object.string("path")
        size = try object.int64("size")
        mtime = try object.optionalTime("mtime")
        mode = try object.int64("mode")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("name", name)
        writer.string("type", type)
        writer.string("path", path)
        writer.integer("size", size)
        writer.optionalTime("mtime", mtime)
        writer.integer("mode", mode)
    }

    /// Bytes this node takes in a frame, with the comma before it; a
    /// listing stops adding nodes before the frame would pass 1 MiB.
    public var encodedSize: Int {
        var writer = JSONWriter(capacity: 128 + name.utf8.count + path.utf8.count)
        writer.object { writeMembers(to: &$0) }
        return writer.bytes.count + 1
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// Why a `snapshot.ls` has no listing: the `error_code` of
/// `snapshot.ls.result`, an addition so the server can answer 404 without
/// parsing the message.
public enum SnapshotLsFailure: String, Sendable, CaseIterable, Codable {
    /// The repository has no snapshot with that id.
    case snapshotNotFound = "snapshot_not_found"
    /// The path is not in the snapshot.
    case pathNotFound = "path_not_found"
    /// The path is in the snapshot but is not a folder.
    case notADirectory = "not_a_directory"
    /// The agent is already running as many listings as it allows.
    case busy
    /// restic failed (repository unreachable, wrong password, …).
    case failed
}

/// `snapshot.ls.result`: the children of one snapshot folder, at most
/// ``maxNodes``, or why there are none.
public struct SnapshotLsResult: Sendable, Equatable {
    /// The most entries one result carries; more set ``truncated``.
    public static let maxNodes = 5000

    public var requestID: String
    public var path: String
    public var nodes: [SnapshotNode]
    /// The folder has more entries than were sent.
    public var truncated: Bool
    /// What went wrong, for the operator; nil on success.
    public var error: String?
    /// The kind of failure (a ``SnapshotLsFailure`` raw value), nil on success.
    public var errorCode: String?

    public init(
        requestID: String, path: String, nodes: [SnapshotNode] = [], truncated: Bool = false, error: String? = nil,
        errorCode: String? = nil
    ) {
        self.requestID = requestID
        self.path = path
        self.nodes = nodes
        self.truncated = truncated
        self.error = error
        self.errorCode = errorCode
    }

    /// A result without a listing.
    public static func failure(
        requestID: String, path: String, _ failure: SnapshotLsFailure, _ message: String
    ) -> SnapshotLsResult {
        SnapshotLsResult(requestID: requestID, path: path, error: message, errorCode: failure.rawValue)
    }

    /// ``errorCode`` when it is one this side knows.
    public var failure: SnapshotLsFailure? { errorCode.flatMap(SnapshotLsFailure.init(rawValue:)) }
}

extension SnapshotLsResult: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        requestID = try object.string("request_id")
        path = try object.string("path")
        nodes = try object.objects("nodes", as: SnapshotNode.self)
        truncated = try object.bool("truncated")
        error = try object.optionalString("error")
        errorCode = try object.optionalString("error_code")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("request_id", requestID)
        writer.string("path", path)
        writer.objects("nodes", nodes)
        writer.bool("truncated", truncated)
        writer.omitEmptyString("error", error)
        writer.omitEmptyString("error_code", errorCode)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}
