import Foundation
import Hummingbird
import NIOCore
import ResticManagerProtocol
import ResticManagerCore

struct JobResponse: ResponseEncodable, Sendable {
    let id: String
    let hostId: String
    @ExplicitNull var scheduleId: String?
    let kind: JobKind
    let trigger: JobTrigger
    let status: JobStatus
    let args: [String]
    let queuedAt: Date
    @ExplicitNull var startedAt: Date?
    @ExplicitNull var finishedAt: Date?
    @ExplicitNull var exitCode: Int?
    @ExplicitNull var stats: JSONValue?
    @ExplicitNull var error: String?
    @ExplicitNull var progress: JSONValue?
    @ExplicitNull var requestedBy: String?
    @ExplicitNull var restore: RestoreResponse?

    struct RestoreResponse: Encodable, Sendable {
        let snapshotId: String
        let include: [String]
        let target: String
        let sourceHostId: String
        let verify: Bool
    }

    init(_ job: JobRecord) {
        id = job.id.rawValue
        hostId = job.hostId.rawValue
        scheduleId = job.scheduleId?.rawValue
        kind = job.kind
        trigger = job.trigger
        status = job.status
        args = job.args
        queuedAt = job.queuedAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        exitCode = job.exitCode
        stats = job.stats.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        error = job.error
        progress = job.progress.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        requestedBy = job.requestedBy
        restore = job.restore.map {
            RestoreResponse(snapshotId: $0.snapshotId, include: $0.include, target: $0.target,
                            sourceHostId: $0.sourceHostId.rawValue, verify: $0.verify)
        }
    }
}

struct LogLineResponse: Encodable, Sendable {
    let seq: Int64
    let ts: Date
    let stream: String
    let payload: String

    init(_ record: JobLogRecord) {
        seq = record.seq
        ts = record.ts
        stream = record.stream
        payload = record.payload
    }
}

/// Run-now, job queries, cancel, logs and the live log stream.
struct JobController {
    let services: ServerServices

    static let runnableKinds: Set<JobKind> = [.backup, .forget, .prune, .check, .unlock, .`init`, .restore]

    struct RunRequest: Decodable {
        let kind: String
        let scheduleId: String?
        let args: [String]?
        var restore: RestoreBody? = nil

        static let schema = BodySchema(
            required: ["kind": .choice(JobKind.allCases.map(\.rawValue))],
            optional: ["schedule_id": .string, "args": .strings, "restore": .object])
    }

    struct LogsResponse: ResponseEncodable, Sendable {
        let lines: [LogLineResponse]
        let nextSeq: Int64
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.post, "/hosts/{id}/jobs", catalog: catalog, summary: "Run a job now", access: .operator,
                    status: .created, body: RunRequest.schema, errors: [.conflict], use: runNow)
        group.route(.get, "/jobs", catalog: catalog, summary: "List jobs (filters host_id, status, kind)",
                    access: .viewer,
                    query: QueryParameter.page + [
                        QueryParameter(name: "host_id", kind: .string),
                        QueryParameter(name: "status", kind: .string, values: JobStatus.allCases.map(\.rawValue)),
                        QueryParameter(name: "kind", kind: .string, values: JobKind.allCases.map(\.rawValue)),
                    ], use: list)
        group.route(.get, "/jobs/{id}", catalog: catalog, summary: "One job with its latest progress", access: .viewer,
                    use: get)
        group.route(.post, "/jobs/{id}/cancel", catalog: catalog, summary: "Cancel a queued or running job",
                    access: .operator, errors: [.conflict], use: cancel)
        group.route(.get, "/jobs/{id}/logs", catalog: catalog, summary: "Log lines after after_seq, in seq order",
                    access: .viewer,
                    query: [QueryParameter(name: "after_seq", kind: .integer), QueryParameter(name: "limit", kind: .integer)],
                    use: logs)
        group.route(.get, "/jobs/{id}/logs/stream", catalog: catalog,
                    summary: "Live log as Server-Sent Events until the job ends", access: .viewer,
                    query: [QueryParameter(name: "after_seq", kind: .integer)], use: stream)
    }

    @Sendable func runNow(_ request: Request, context: AuthenticatedContext) async throws -> EditedResponse<JobResponse> {
        let hostID = HostID(try context.parameters.require("id"))
        guard try await services.database.host(id: hostID) != nil else { throw APIError.notFound("host") }
        let body = try await request.decode(as: RunRequest.self, context: context)
        return EditedResponse(status: .created, response: JobResponse(try await runNow(body, on: hostID, context: context)))
    }

    /// Queues a job on `hostID` and dispatches it if the agent is connected.
    func runNow(_ body: RunRequest, on hostID: HostID, context: AuthenticatedContext) async throws -> JobRecord {
        guard let host = try await services.database.host(id: hostID) else { throw APIError.notFound("host") }
        guard let kind = JobKind(rawValue: body.kind), Self.runnableKinds.contains(kind) else {
            throw APIError.validation("kind", "must be one of backup, forget, prune, check, unlock, init, restore")
        }
        if kind == .restore {
            guard body.scheduleId == nil, (body.args ?? []).isEmpty else {
                throw APIError.validation("restore", "a restore takes its paths in restore.include, not args or schedule_id")
            }
            let restore = try await RestorePlanner(database: services.database).plan(body.restore, onto: host, context: context)
            return try await queue(kind, on: hostID, restore: restore, context: context)
        }
        if body.restore != nil {
            throw APIError.validation("restore", "only a restore job takes restore")
        }
        let args = body.args ?? []
        var scheduleID: ScheduleID?
        if let id = body.scheduleId {
            guard let schedule = try await services.database.schedule(id: ScheduleID(id)), schedule.hostId == hostID else {
                throw APIError.validation("schedule_id", "no such schedule on this host")
            }
            guard schedule.kind == kind else {
                throw APIError.validation("kind", "must match the schedule's kind (\(schedule.kind.rawValue))")
            }
            scheduleID = schedule.id
        }
        if let problem = RunArguments.problem(kind: kind, args: args, hasSchedule: scheduleID != nil) {
            throw APIError.validation(problem.field, problem.reason)
        }
        let config = try await services.database.hostConfig(hostID: hostID)
        guard let config, !config.repoURL.isEmpty else {
            throw APIError.conflict(
                "this host has no repository configured; an admin sets one under Repository on the host page "
                    + "(or PUT /api/v1/hosts/\(hostID)/config)")
        }
        return try await queue(kind, on: hostID, scheduleID: scheduleID, args: args, context: context)
    }

    /// Creates the job and dispatches it if the agent is connected.
    private func queue(
        _ kind: JobKind, on hostID: HostID, scheduleID: ScheduleID? = nil, args: [String] = [],
        restore: JobRestore? = nil, context: AuthenticatedContext
    ) async throws -> JobRecord {
        let job = try await services.database.createJob(
            hostID: hostID, scheduleID: scheduleID, kind: kind,
            trigger: context.principal.credential == .apiToken ? .api : .manual, args: args, restore: restore,
            expiresAfter: services.settings.jobExpiry, by: context.auditActor)
        await services.hub.dispatchQueuedJobs(hostID: hostID)
        return try await services.database.job(id: job.id) ?? job
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<JobResponse> {
        let page = try PageCursor.page(from: request)
        return ListResponse(try await services.database.listJobs(filter: try Self.filter(from: request), page: page),
                            map: JobResponse.init)
    }

    /// The `host_id`, `status` and `kind` filters of a job list request.
    static func filter(from request: Request) throws -> JobFilter {
        let query = request.uri.queryParameters
        var filter = JobFilter()
        if let host = query["host_id"], !host.isEmpty { filter.hostID = HostID(String(host)) }
        if let status = query["status"], !status.isEmpty {
            guard let value = JobStatus(rawValue: String(status)) else {
                throw APIError.validation("status", "must be one of queued, running, succeeded, failed, cancelled")
            }
            filter.status = value
        }
        if let kind = query["kind"], !kind.isEmpty {
            guard let value = JobKind(rawValue: String(kind)) else {
                throw APIError.validation("kind", "must be one of backup, forget, prune, check, unlock, init, restore")
            }
            filter.kind = value
        }
        return filter
    }

    private func requireJob(_ context: AuthenticatedContext) async throws -> JobRecord {
        let id = try context.parameters.require("id")
        guard let job = try await services.database.job(id: JobID(id)) else { throw APIError.notFound("job") }
        return job
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> JobResponse {
        return JobResponse(try await requireJob(context))
    }

    @Sendable func cancel(_ request: Request, context: AuthenticatedContext) async throws -> JobResponse {
        JobResponse(try await cancel(context: context))
    }

    /// Cancels the request's job: a queued one never runs, a running one is
    /// told to stop.
    func cancel(context: AuthenticatedContext) async throws -> JobRecord {
        let job = try await requireJob(context)
        let updated = try await services.database.cancelJob(id: job.id, by: context.auditActor)
        if job.dispatchedAt != nil || job.status == .running {
            await services.hub.cancel(job.id, on: job.hostId)
        }
        await services.jobEvents.notify([job.id])
        return updated
    }

    /// Where a log read starts: `after_seq`, or for a reconnecting
    /// EventSource its `Last-Event-ID` when that is further on (the browser
    /// reconnects with the original URL, `after_seq` included).
    private static func afterSeq(_ request: Request) throws -> Int64 {
        func value(_ text: String?, _ name: String) throws -> Int64 {
            guard let text, !text.isEmpty else { return 0 }
            guard let value = Int64(text), value >= 0 else {
                throw APIError.validation(name, "must be a non-negative integer")
            }
            return value
        }
        return max(try value(request.uri.queryParameters["after_seq"].map(String.init), "after_seq"),
                   try value(request.headers[.init("Last-Event-ID")!], "Last-Event-ID"))
    }

    @Sendable func logs(_ request: Request, context: AuthenticatedContext) async throws -> LogsResponse {
        let job = try await requireJob(context)
        let after = try Self.afterSeq(request)
        var limit = 1000
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(text), (1...5000).contains(value) else {
                throw APIError.validation("limit", "must be an integer from 1 to 5000")
            }
            limit = value
        }
        let lines = try await services.database.jobLogs(jobID: job.id, afterSeq: after, limit: limit)
        return LogsResponse(lines: lines.map(LogLineResponse.init), nextSeq: lines.last?.seq ?? after)
    }

    @Sendable func stream(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let job = try await requireJob(context)
        let after = try Self.afterSeq(request)
        let streamer = JobLogStreamer(database: services.database, events: services.jobEvents, jobID: job.id)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await streamer.run(after: after) { text in
                    try await writer.write(ByteBuffer(string: text))
                }
                try await writer.finish(nil)
            })
    }
}
