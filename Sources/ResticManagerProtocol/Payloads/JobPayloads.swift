import Foundation

/// `command.run`: the server asks the agent to run a job now.
public struct CommandRunPayload: Sendable, Equatable {
    public var jobID: String
    public var kind: JobKind
    /// Paths for an ad-hoc `backup`; empty for every other kind. Never
    /// turned into restic flags.
    public var args: [String]
    /// Run this schedule's definition (an addition to v1). Nil for ad-hoc jobs.
    public var scheduleID: String?
    /// What a `restore` job restores and where (an addition to v1).
    public var restore: RestoreRequest?
    /// The repository holding the snapshot when it is another host's (an
    /// addition to v1); nil for this host's own. Sensitive.
    public var source: RepositorySource?

    public init(
        jobID: String, kind: JobKind, args: [String] = [], scheduleID: String? = nil, restore: RestoreRequest? = nil,
        source: RepositorySource? = nil
    ) {
        self.jobID = jobID
        self.kind = kind
        self.args = args
        self.scheduleID = scheduleID
        self.restore = restore
        self.source = source
    }
}

extension CommandRunPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
        kind = try object.enumeration("kind", as: JobKind.self)
        args = try object.strings("args")
        scheduleID = try object.optionalString("schedule_id")
        restore = try object.optionalObject("restore", as: RestoreRequest.self)
        source = try object.optionalObject("source", as: RepositorySource.self)
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
        writer.string("kind", kind.rawValue)
        writer.omitEmptyStrings("args", args)
        writer.omitEmptyString("schedule_id", scheduleID)
        writer.optionalObject("restore", restore)
        writer.optionalObject("source", source)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `command.cancel`: stop a running job, or drop a queued one.
public struct CommandCancelPayload: Sendable, Equatable {
    public var jobID: String

    public init(jobID: String) {
        self.jobID = jobID
    }
}

extension CommandCancelPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `command.result`: the agent accepted (and persisted) a `command.run`, or
/// refused it. This is not the job's outcome; `job.finished` is.
public struct CommandResultPayload: Sendable, Equatable {
    public var jobID: String
    public var accepted: Bool
    /// Why the command was refused (unknown schedule, no repository, …).
    public var error: String?

    public init(jobID: String, accepted: Bool, error: String? = nil) {
        self.jobID = jobID
        self.accepted = accepted
        self.error = error
    }
}

extension CommandResultPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
        accepted = try object.bool("accepted")
        error = try object.optionalString("error")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
        writer.bool("accepted", accepted)
        writer.omitEmptyString("error", error)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `job.started`: the agent began running a job. For scheduled runs this
/// is how the server first learns of the job (the agent minted its id).
public struct JobStartedPayload: Sendable, Equatable {
    public var jobID: String
    public var kind: JobKind
    public var startedAt: Date
    /// The schedule this run belongs to (an addition to v1).
    public var scheduleID: String?
    /// What started it (an addition to v1); `schedule` for cron runs.
    public var trigger: JobTrigger?

    public init(
        jobID: String,
        kind: JobKind,
        startedAt: Date,
        scheduleID: String? = nil,
        trigger: JobTrigger? = nil
    ) {
        self.jobID = jobID
        self.kind = kind
        self.startedAt = startedAt
        self.scheduleID = scheduleID
        self.trigger = trigger
    }
}

extension JobStartedPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
        kind = try object.enumeration("kind", as: JobKind.self)
        startedAt = try object.time("started_at")
        scheduleID = try object.optionalString("schedule_id")
        trigger = try object.optionalEnumeration("trigger", as: JobTrigger.self)
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
        writer.string("kind", kind.rawValue)
        writer.time("started_at", startedAt)
        writer.omitEmptyString("schedule_id", scheduleID)
        writer.omitEmptyString("trigger", trigger?.rawValue)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `job.progress`: periodic status of a running job (at most 2 a second),
/// mirroring restic's `--json` status lines. Kinds without progress fill
/// in what makes sense; all fields are always on the wire.
public struct JobProgressPayload: Sendable, Equatable {
    public var jobID: String
    /// 0…1.
    public var percentDone: Double
    public var filesDone: Int64
    public var totalFiles: Int64
    public var bytesDone: Int64
    public var totalBytes: Int64
    public var etaSeconds: Int64
    public var throughputBps: Int64

    public init(
        jobID: String,
        percentDone: Double = 0,
        filesDone: Int64 = 0,
        totalFiles: Int64 = 0,
        bytesDone: Int64 = 0,
        totalBytes: Int64 = 0,
        etaSeconds: Int64 = 0,
        throughputBps: Int64 = 0
    ) {
        self.jobID = jobID
        self.percentDone = percentDone
        self.filesDone = filesDone
        self.totalFiles = totalFiles
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
        self.etaSeconds = etaSeconds
        self.throughputBps = throughputBps
    }
}

extension JobProgressPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
        percentDone = try object.double("percent_done")
        filesDone = try object.int64("files_done")
        totalFiles = try object.int64("total_files")
        bytesDone = try object.int64("bytes_done")
        totalBytes = try object.int64("total_bytes")
        etaSeconds = try object.int64("eta_seconds")
        throughputBps = try object.int64("throughput_bps")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
        writer.double("percent_done", percentDone)
        writer.integer("files_done", filesDone)
        writer.integer("total_files", totalFiles)
        writer.integer("bytes_done", bytesDone)
        writer.integer("total_bytes", totalBytes)
        writer.integer("eta_seconds", etaSeconds)
        writer.integer("throughput_bps", throughputBps)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `job.finished`: the job reached a terminal state.
public struct JobFinishedPayload: Sendable, Equatable {
    public var jobID: String
    public var status: JobStatus
    public var exitCode: Int
    public var finishedAt: Date
    /// restic's `summary` message, verbatim.
    public var stats: RawJSON?
    public var error: String?

    public init(
        jobID: String,
        status: JobStatus,
        exitCode: Int,
        finishedAt: Date,
        stats: RawJSON? = nil,
        error: String? = nil
    ) {
        self.jobID = jobID
        self.status = status
        self.exitCode = exitCode
        self.finishedAt = finishedAt
        self.stats = stats
        self.error = error
    }
}

extension JobFinishedPayload: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
        status = try object.enumeration("status", as: JobStatus.self)
        exitCode = try object.int("exit_code")
        finishedAt = try object.time("finished_at")
        stats = object.raw("stats")
        error = try object.optionalString("error")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
        writer.string("status", status.rawValue)
        writer.integer("exit_code", exitCode)
        writer.time("finished_at", finishedAt)
        writer.omitEmptyRaw("stats", stats)
        writer.omitEmptyString("error", error)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}

/// `log.stream`: one line of a job's live log, keyed by `(job_id, seq)` so
/// that a replay after reconnect stores nothing twice.
public struct LogStreamLine: Sendable, Equatable {
    public var jobID: String
    public var seq: Int64
    public var ts: Date
    public var stream: LogStreamKind
    public var payload: String

    public init(jobID: String, seq: Int64, ts: Date, stream: LogStreamKind, payload: String) {
        self.jobID = jobID
        self.seq = seq
        self.ts = ts
        self.stream = stream
        self.payload = payload
    }
}

extension LogStreamLine: WirePayload, Codable {
    init(reading object: JSONObjectReader) throws(PayloadShapeError) {
        jobID = try object.string("job_id")
        seq = try object.int64("seq")
        ts = try object.time("ts")
        stream = try object.enumeration("stream", as: LogStreamKind.self)
        payload = try object.string("payload")
    }

    func writeMembers(to writer: inout JSONWriter) {
        writer.string("job_id", jobID)
        writer.integer("seq", seq)
        writer.time("ts", ts)
        writer.string("stream", stream.rawValue)
        writer.string("payload", payload)
    }

    public init(from decoder: any Decoder) throws { self = try WirePayloadCodable.decode(Self.self, from: decoder) }
    public func encode(to encoder: any Encoder) throws { try WirePayloadCodable.encode(self, to: encoder) }
}
