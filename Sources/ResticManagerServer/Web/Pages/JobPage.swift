import Foundation
import Hummingbird
import ResticManagerCore
import ResticManagerProtocol

/// The job list and one job: status, live progress and log, cancel, summary.
struct JobPage {
    let services: ServerServices
    let responder: WebResponder

    /// Log lines rendered into the page; the rest are a link away.
    static let renderedLogLines = 5000

    struct LogLine {
        let seq: Int64
        let time: String
        let stream: String
        let payload: String
    }

    struct Model {
        let id: String
        let kind: String
        let status: String
        let terminal: Bool
        let hostID: String
        let hostName: String
        let facts: [Fact]
        let canCancel: Bool
        let showProgress: Bool
        let percent: String
        let progressText: String
        let summary: [Fact]
        let hasSummary: Bool
        let statsJSON: String?
        let error: String?
        let cancelled: Bool
        let lines: [LogLine]
        let hasLines: Bool
        let afterSeq: Int64
        let truncated: Bool
    }

    struct ListModel {
        let rows: [JobRow]
        let hasRows: Bool
        let hostID: String
        let hostName: String?
        let statuses: [Choice]
        let kinds: [Choice]
        let nextPage: String?
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/jobs", method: .get, access: .viewer, use: list)
        group.on("/jobs/{id}", method: .get, access: .viewer, use: show)
        group.on("/jobs/{id}/cancel", method: .post, access: .operator, use: cancel)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let filter = try JobController.filter(from: request)
        let hostID = filter.hostID?.rawValue ?? ""
        let status = filter.status?.rawValue ?? ""
        let kind = filter.kind?.rawValue ?? ""
        let hostName = try await filter.hostID.asyncMap { try await services.database.host(id: $0)?.name } ?? nil
        let page = try await services.database.listJobs(filter: filter, page: try PageCursor.page(from: request))
        var names: [HostID: String] = [:]
        for id in Set(page.items.map(\.hostId)) {
            names[id] = try await services.database.host(id: id)?.name ?? "deleted host"
        }
        let now = Date()
        let next = PageLink.next(
            "/jobs", cursor: page.nextCursor, request: request, keeping: [("host_id", hostID), ("status", status), ("kind", kind)])
        let model = ListModel(
            rows: page.items.map { JobRow($0, hostName: names[$0.hostId] ?? "", now: now) },
            hasRows: !page.items.isEmpty, hostID: hostID, hostName: hostName,
            statuses: JobStatus.allCases.map { Choice(value: $0.rawValue, selected: $0 == filter.status) },
            kinds: JobKind.allCases.map { Choice(value: $0.rawValue, selected: $0 == filter.kind) },
            nextPage: next)
        return try await responder.page("jobs", title: "Jobs", section: "jobs", page: model, request: request, context: context)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let id = JobID(try context.parameters.require("id"))
        guard let job = try await services.database.job(id: id) else { throw APIError.notFound("job") }
        let host = try await services.database.host(id: job.hostId)
        let lines = try await services.database.jobLogs(jobID: id, afterSeq: 0, limit: Self.renderedLogLines)
        var facts = [
            Fact(label: "Trigger", value: job.trigger.rawValue + (job.requestedBy.map { " by \($0)" } ?? "")),
            Fact(label: "Queued", value: WebFormat.timestamp(job.queuedAt)),
            Fact(label: "Started", value: WebFormat.timestamp(job.startedAt)),
            Fact(label: "Finished", value: WebFormat.timestamp(job.finishedAt)),
        ]
        if let started = job.startedAt, let finished = job.finishedAt {
            facts.append(Fact(label: "Duration", value: WebFormat.duration(finished.timeIntervalSince(started))))
        }
        if let code = job.exitCode { facts.append(Fact(label: "Exit code", value: String(code))) }
        if !job.args.isEmpty { facts.append(Fact(label: "Paths", value: job.args.joined(separator: ", "))) }
        if let restore = job.restore {
            facts.append(Fact(label: "Snapshot", value: String(restore.snapshotId.prefix(8))))
            if restore.sourceHostId != job.hostId {
                facts.append(Fact(label: "From host", value: restore.sourceHostId.rawValue))
            }
            facts.append(Fact(label: "Restores", value: restore.include.isEmpty
                ? "the whole snapshot" : restore.include.joined(separator: ", ")))
            facts.append(Fact(label: "Into", value: restore.target + (restore.verify ? " (verified)" : "")))
        }

        let progress = job.progress.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        let percent = (progress?["percent_done"]?.doubleValue ?? 0) * 100
        let stats = job.stats.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        let summary = Self.summary(of: stats)
        let model = Model(
            id: id.rawValue, kind: job.kind.rawValue, status: job.status.rawValue, terminal: job.status.isTerminal,
            hostID: job.hostId.rawValue, hostName: host?.name ?? "deleted host", facts: facts,
            canCancel: !job.status.isTerminal && context.user.role >= .operator,
            showProgress: !job.status.isTerminal, percent: String(format: "%.1f", percent),
            progressText: progress.map(Self.progressText) ?? (job.status == .queued ? "waiting for the agent" : "starting"),
            summary: summary, hasSummary: !summary.isEmpty,
            statsJSON: stats.map { $0.canonicalText }, error: job.status == .cancelled ? nil : job.error,
            cancelled: job.status == .cancelled,
            lines: lines.map {
                LogLine(seq: $0.seq, time: String(RFC3339.format($0.ts).dropFirst(11).prefix(8)), stream: $0.stream,
                        payload: $0.payload)
            },
            hasLines: !lines.isEmpty, afterSeq: lines.last?.seq ?? 0,
            truncated: job.status.isTerminal && lines.count == Self.renderedLogLines)
        return try await responder.page("job", title: "\(job.kind.rawValue.capitalized) on \(host?.name ?? "deleted host")",
                              section: "jobs", page: model, request: request, context: context)
    }

    @Sendable func cancel(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let job = try await JobController(services: services).cancel(context: context)
        return WebResponse.redirect(to: "/jobs/\(job.id)", flash: "Cancel requested; the agent stops restic.")
    }

    static func progressText(_ progress: JSONValue) -> String {
        let percent = (progress["percent_done"]?.doubleValue ?? 0) * 100
        let files = progress["files_done"]?.int64Value ?? 0
        let totalFiles = progress["total_files"]?.int64Value ?? 0
        let bytes = progress["bytes_done"]?.int64Value ?? 0
        let totalBytes = progress["total_bytes"]?.int64Value ?? 0
        var text = String(format: "%.1f%%", percent) + " · \(files) of \(totalFiles) files · "
            + "\(WebFormat.bytes(bytes)) of \(WebFormat.bytes(totalBytes))"
        if let eta = progress["eta_seconds"]?.int64Value, eta > 0 { text += " · about \(eta) s left" }
        return text
    }

    /// The figures of restic's backup summary an operator looks for first.
    static func summary(of stats: JSONValue?) -> [Fact] {
        guard let stats, case .object = stats else { return [] }
        var facts: [Fact] = []
        func count(_ key: String, _ label: String) {
            if let value = stats[key]?.int64Value { facts.append(Fact(label: label, value: WebFormat.count(value))) }
        }
        func bytes(_ key: String, _ label: String) {
            if let value = stats[key]?.int64Value { facts.append(Fact(label: label, value: WebFormat.bytes(value))) }
        }
        if let snapshot = stats["snapshot_id"]?.stringValue {
            facts.append(Fact(label: "Snapshot", value: String(snapshot.prefix(8))))
        }
        count("files_restored", "Files restored")
        bytes("bytes_restored", "Data restored")
        count("files_new", "Files new")
        count("files_changed", "Files changed")
        count("files_unmodified", "Files unmodified")
        bytes("data_added", "Data added")
        bytes("total_bytes_processed", "Data processed")
        if let seconds = stats["total_duration"]?.doubleValue {
            facts.append(Fact(label: "restic duration", value: WebFormat.duration(seconds)))
        }
        return facts
    }
}
