import Foundation
import ResticManagerProtocol

/// One job as lists show it (host page, jobs page).
struct JobRow {
    let id: String
    let hostID: String
    let hostName: String
    let kind: String
    let trigger: String
    let status: String
    let queuedAt: String
    let queuedAgo: String
    let duration: String
    let error: String?

    init(_ job: JobRecord, hostName: String = "", now: Date = Date()) {
        id = job.id.rawValue
        hostID = job.hostId.rawValue
        self.hostName = hostName
        kind = job.kind.rawValue
        trigger = job.trigger.rawValue
        status = job.status.rawValue
        queuedAt = WebFormat.machine(job.queuedAt)
        queuedAgo = WebFormat.relative(job.queuedAt, now: now)
        duration = job.startedAt.map { WebFormat.duration((job.finishedAt ?? now).timeIntervalSince($0)) } ?? "—"
        error = job.error
    }
}
