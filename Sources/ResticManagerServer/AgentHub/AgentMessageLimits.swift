import Foundation
import ResticManagerProtocol

/// What the server accepts from an agent beyond a payload's JSON shape
/// (#14 item 3): ids in the syntax agents and the server mint them (UUIDs),
/// `seq` from 1, enum-like strings from their list, and a length bound on
/// every string. Without it a `job_id` of 1 MB is stored and every page that
/// shows it weighs megabytes.
///
/// A refusal is an ``EnvelopeDecodingError/badPayload(type:id:reason:)``, so
/// it is answered with `bad_message` and counted like a decoding error.
enum AgentMessageLimits {
    /// Names and versions: hostname, os, arch, time zone, restic version.
    static let shortText = 256
    /// Free text a person reads: an error, one log line.
    static let longText = 64 * 1024
    /// One log line: only the frame bounds it (SPEC §6 accepts a 1 MiB frame
    /// of log); what a page shows of it is the page's business.
    static let logLine = FrameLimits.maxFrameBytes
    /// A path or tag of a snapshot.
    static let pathText = 4096
    /// Envelope and `ref_id` ids: the agent's outbox mints UUIDs, but the
    /// protocol only asks for "unique per sender", so any short printable id.
    static let messageID = FrameLimits.maxMessageIDBytes
    /// Jobs a `hello` may call active: far more than an agent ever holds.
    static let activeJobs = 10_000
    /// `--restore-to` folders a `hello` may list.
    static let restoreTargets = 100

    /// Throws why `envelope` is refused, naming the field.
    static func check(_ envelope: Envelope) throws(EnvelopeDecodingError) {
        let check = FieldCheck(type: envelope.type, id: envelope.id)
        try check.messageID("id", envelope.id)
        switch envelope.message {
        case .hello(let hello):
            try check.text("payload.agent_version", hello.agentVersion, max: shortText)
            try check.text("payload.restic_version", hello.resticVersion, max: shortText)
            try check.text("payload.hostname", hello.hostname, max: shortText)
            try check.text("payload.os", hello.os, max: shortText)
            try check.text("payload.arch", hello.arch, max: shortText)
            if let zone = hello.timezone { try check.text("payload.timezone", zone, max: shortText) }
            if let active = hello.activeJobs {
                guard active.count <= activeJobs else {
                    throw check.refusal("payload.active_jobs", "lists more than \(activeJobs) jobs")
                }
                for (index, id) in active.enumerated() { try check.uuid("payload.active_jobs[\(index)]", id) }
            }
            if let targets = hello.restoreTargets {
                guard targets.count <= restoreTargets else {
                    throw check.refusal("payload.restore_targets", "lists more than \(restoreTargets) folders")
                }
                for (index, folder) in targets.enumerated() {
                    let field = "payload.restore_targets[\(index)]"
                    try check.text(field, folder, max: pathText)
                    guard folder.hasPrefix("/") else { throw check.refusal(field, "must be an absolute path") }
                }
            }
        case .heartbeat, .scheduleAck:
            break
        case .commandResult(let result):
            try check.uuid("payload.job_id", result.jobID)
            if let error = result.error { try check.text("payload.error", error, max: longText, prose: true) }
        case .jobStarted(let started):
            try check.uuid("payload.job_id", started.jobID)
            if let schedule = started.scheduleID { try check.uuid("payload.schedule_id", schedule) }
        case .jobProgress(let progress):
            try check.uuid("payload.job_id", progress.jobID)
        case .jobFinished(let finished):
            try check.uuid("payload.job_id", finished.jobID)
            if let error = finished.error { try check.text("payload.error", error, max: longText, prose: true) }
        case .logStream(let line):
            try check.uuid("payload.job_id", line.jobID)
            guard line.seq >= 1 else { throw check.refusal("payload.seq", "must be 1 or more, got \(line.seq)") }
            try check.text("payload.payload", line.payload, max: logLine, prose: true)
        case .snapshotsReport(let report):
            for (index, snapshot) in report.snapshots.enumerated() {
                let field = "payload.snapshots[\(index)]"
                try check.snapshotID("\(field).id", snapshot.id)
                try check.text("\(field).hostname", snapshot.hostname, max: shortText)
                for (number, path) in snapshot.paths.enumerated() {
                    try check.text("\(field).paths[\(number)]", path, max: pathText)
                }
                for (number, tag) in snapshot.tags.enumerated() {
                    try check.text("\(field).tags[\(number)]", tag, max: pathText)
                }
            }
        case .repoStats(let stats):
            guard ["locked", "unlocked"].contains(stats.lockState) else {
                throw check.refusal("payload.lock_state", "must be \"locked\" or \"unlocked\"")
            }
            // What the agent records of its last `restic check` (JobQueue).
            if let status = stats.lastCheckStatus, !status.isEmpty, !["ok", "failed"].contains(status) {
                throw check.refusal("payload.last_check_status", "must be \"ok\" or \"failed\"")
            }
        case .snapshotLsResult(let result):
            // The server mints request ids (lowercased UUIDs).
            try check.uuid("payload.request_id", result.requestID)
            try check.text("payload.path", result.path, max: pathText, prose: true)
            guard result.nodes.count <= SnapshotLsResult.maxNodes else {
                throw check.refusal("payload.nodes", "has more than \(SnapshotLsResult.maxNodes) entries")
            }
            for (index, node) in result.nodes.enumerated() {
                let field = "payload.nodes[\(index)]"
                // File names may hold any character but `/` and NUL; pages escape them.
                try check.text("\(field).name", node.name, max: pathText, prose: true)
                try check.text("\(field).path", node.path, max: pathText, prose: true)
                try check.text("\(field).type", node.type, max: shortText)
            }
            if let error = result.error { try check.text("payload.error", error, max: longText, prose: true) }
            if let code = result.errorCode { try check.text("payload.error_code", code, max: shortText) }
        case .error(let error):
            try check.text("payload.code", error.code, max: shortText)
            try check.text("payload.message", error.message, max: longText, prose: true)
            // An empty ref_id means "about no message in particular".
            if let ref = error.refID, !ref.isEmpty { try check.messageID("payload.ref_id", ref) }
        case .configUpdate, .scheduleSet, .commandRun, .commandCancel, .agentUpdateAvailable, .snapshotLs, .ack:
            // Server → agent types are refused before this check.
            break
        }
    }
}

/// The field checks of one message, which know how to word a refusal.
private struct FieldCheck {
    let type: MessageType
    let id: String

    func refusal(_ field: String, _ reason: String) -> EnvelopeDecodingError {
        .badPayload(type: type, id: id, reason: "\(field): \(reason)")
    }

    /// A lowercase or uppercase RFC 4122 UUID, as `UUID().uuidString` makes them.
    func uuid(_ field: String, _ value: String) throws(EnvelopeDecodingError) {
        guard value.utf8.count == 36, UUID(uuidString: value) != nil else {
            throw refusal(field, "must be a UUID such as 0b9c5f1e-2c43-4f6a-9d7e-3a1b2c4d5e6f, got \(quote(value))")
        }
    }

    /// restic's snapshot ids, checked as restore requests check them.
    func snapshotID(_ field: String, _ value: String) throws(EnvelopeDecodingError) {
        if let problem = RestoreArguments.snapshotIDProblem(value) { throw refusal(field, "\(problem), got \(quote(value))") }
    }

    func messageID(_ field: String, _ value: String) throws(EnvelopeDecodingError) {
        guard !value.isEmpty, value.utf8.count <= AgentMessageLimits.messageID,
            value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else {
            throw refusal(field, "must be 1 to \(AgentMessageLimits.messageID) printable ASCII characters")
        }
    }

    /// `prose` (a log line, an error text) may hold any character, control
    /// characters included: hooks print colours and restic prints `\r`, and
    /// a refused line would be dropped for good. Names may not.
    func text(_ field: String, _ value: String, max: Int, prose: Bool = false) throws(EnvelopeDecodingError) {
        guard value.utf8.count <= max else {
            throw refusal(field, "is \(value.utf8.count) bytes; at most \(max) are accepted")
        }
        guard !prose else { return }
        if let refused = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw refusal(field, "contains the control character U+\(String(refused.value, radix: 16, uppercase: true))")
        }
    }

    private func quote(_ value: String) -> String {
        value.count > 40 ? String(value.prefix(40)).debugDescription + "…" : value.debugDescription
    }
}
