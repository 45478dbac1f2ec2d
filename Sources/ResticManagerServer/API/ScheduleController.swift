import Foundation
import Hummingbird
import ResticManagerCore
import ResticManagerProtocol

/// The protocol `Schedule` fields plus `host_id` and the next five runs.
struct ScheduleResponse: ResponseEncodable, Sendable {
    let id: String
    let hostId: String
    let kind: JobKind
    let cronExpr: String
    let paths: [String]
    let excludes: [String]
    let tags: [String]
    @ExplicitNull var retentionPolicy: JSONValue?
    @ExplicitNull var options: JSONValue?
    let preHook: String
    let postHook: String
    let enabled: Bool
    let nextRuns: [Date]
    /// The ping URL is write-only: only whether one is set is shown.
    let pingUrlSet: Bool
    let createdAt: Date
    let updatedAt: Date

    init(_ record: ScheduleRecord, timeZone: TimeZone, now: Date = Date()) {
        id = record.id.rawValue
        hostId = record.hostId.rawValue
        kind = record.kind
        cronExpr = record.cronExpr
        paths = record.paths
        excludes = record.excludes
        tags = record.tags
        retentionPolicy = record.retentionPolicy.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        options = record.options.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        preHook = record.preHook
        postHook = record.postHook
        enabled = record.enabled
        nextRuns = record.enabled
            ? ((try? CronExpression(record.cronExpr))?.nextRuns(after: now, in: timeZone, count: 5) ?? []) : []
        pingUrlSet = record.pingUrlEnc != nil
        createdAt = record.createdAt
        updatedAt = record.updatedAt
    }
}

/// Schedules of a host (SPEC §5, §6.2). Every change bumps the host's
/// schedule version and is pushed to the agent if it is connected.
struct ScheduleController {
    let services: ServerServices

    struct ScheduleRequest: Decodable {
        let kind: String
        let cronExpr: String
        let paths: [String]?
        let excludes: [String]?
        let tags: [String]?
        let retentionPolicy: JSONValue?
        let options: JSONValue?
        let preHook: String?
        let postHook: String?
        let enabled: Bool?
        /// Absent or null keeps the stored ping URL, "" clears it.
        var pingUrl: String? = nil

        static let schema = BodySchema(
            required: ["kind": .choice(JobKind.allCases.map(\.rawValue)), "cron_expr": .string],
            optional: [
                "paths": .strings, "excludes": .strings, "tags": .strings, "retention_policy": .object,
                "options": .object, "pre_hook": .string, "post_hook": .string, "enabled": .boolean,
                "ping_url": .string,
            ])
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/hosts/{id}/schedules", catalog: catalog, summary: "A host's schedules with next runs",
                    access: .viewer, use: list)
        group.route(.post, "/hosts/{id}/schedules", catalog: catalog,
                    summary: "Create a schedule; the response has the next 5 run times", access: .operator,
                    status: .created, body: ScheduleRequest.schema, use: create)
        group.route(.get, "/hosts/{id}/schedules/preview", catalog: catalog,
                    summary: "Next five runs of cron_expr in the host's time zone", access: .viewer,
                    query: [QueryParameter(name: "cron_expr", kind: .string, required: true)], use: preview)
        group.route(.get, "/schedules/{id}", catalog: catalog, summary: "One schedule", access: .viewer, use: get)
        group.route(.put, "/schedules/{id}", catalog: catalog, summary: "Replace a schedule (hooks need admin)",
                    access: .operator, body: ScheduleRequest.schema, use: replace)
        group.route(.delete, "/schedules/{id}", catalog: catalog, summary: "Delete a schedule", access: .operator,
                    status: .noContent, use: delete)
    }

    private func timeZone(of hostID: HostID) async throws -> TimeZone {
        try await services.database.host(id: hostID)?.scheduleTimeZone ?? .utc
    }

    private func definition(
        _ body: ScheduleRequest, id: ScheduleID, on hostID: HostID, context: AuthenticatedContext,
        existing: ScheduleRecord?
    ) async throws -> ScheduleDefinition {
        // Keeping hooks an admin set is fine for an operator; changing them is not.
        let hooksUnchanged = existing.map { ($0.preHook, $0.postHook) == (body.preHook ?? "", body.postHook ?? "") } ?? false
        // Likewise for the admin-only extra_args option.
        let storedOptions = existing?.options.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        let extraArgsUnchanged = existing != nil && storedOptions?["extra_args"] == body.options?["extra_args"]
        var definition = try ScheduleValidation.definition(
            kind: body.kind, cronExpr: body.cronExpr, paths: body.paths, excludes: body.excludes, tags: body.tags,
            retentionPolicy: body.retentionPolicy, options: body.options, preHook: body.preHook,
            postHook: body.postHook, enabled: body.enabled,
            extraArgsAllowed: context.user.role == .admin || extraArgsUnchanged,
            hooksAllowed: context.user.role == .admin || hooksUnchanged)
        if !definition.preHook.isEmpty || !definition.postHook.isEmpty,
            try await services.database.host(id: hostID)?.hooksAllowed == false
        {
            // Saving what the agent will refuse to run would only fail every job.
            throw APIError.conflict(
                "hooks are not allowed on this host (agent started with --no-hooks); remove pre_hook and post_hook")
        }
        if let ping = body.pingUrl {
            definition.pingURLSealed = ping.isEmpty ? .some(nil) : .some(try services.secretBox.seal(
                try ChannelValidation.httpURL(ping, field: "ping_url"), associatedData: SecretAssociation.pingURL(id)))
        }
        return definition
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<ScheduleResponse> {
        let id = HostID(try context.parameters.require("id"))
        guard try await services.database.host(id: id) != nil else { throw APIError.notFound("host") }
        let zone = try await timeZone(of: id)
        let schedules = try await services.database.schedules(hostID: id)
        return ListResponse(PageResult(items: schedules, nextCursor: nil)) { ScheduleResponse($0, timeZone: zone) }
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws
        -> EditedResponse<ScheduleResponse>
    {
        let id = HostID(try context.parameters.require("id"))
        guard try await services.database.host(id: id) != nil else { throw APIError.notFound("host") }
        let body = try await request.decode(as: ScheduleRequest.self, context: context)
        return EditedResponse(status: .created, response: try await create(body, context: context))
    }

    /// Validates a new schedule for the request's host, stores it and pushes
    /// the host's schedule set to its agent.
    func create(_ body: ScheduleRequest, context: AuthenticatedContext) async throws -> ScheduleResponse {
        let id = HostID(try context.parameters.require("id"))
        guard try await services.database.host(id: id) != nil else { throw APIError.notFound("host") }
        let scheduleID = ScheduleID.random()
        let definition = try await definition(body, id: scheduleID, on: id, context: context, existing: nil)
        let record = try await services.database.createSchedule(
            id: scheduleID, hostID: id, definition: definition, by: context.auditActor)
        services.alerts.poke()
        await services.hub.pushSchedules(hostID: id)
        return ScheduleResponse(record, timeZone: try await timeZone(of: id))
    }

    func requireSchedule(_ context: AuthenticatedContext) async throws -> ScheduleRecord {
        let id = try context.parameters.require("id")
        guard let schedule = try await services.database.schedule(id: ScheduleID(id)),
            try await services.database.host(id: schedule.hostId) != nil
        else { throw APIError.notFound("schedule") }
        return schedule
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> ScheduleResponse {
        let schedule = try await requireSchedule(context)
        return ScheduleResponse(schedule, timeZone: try await timeZone(of: schedule.hostId))
    }

    @Sendable func replace(_ request: Request, context: AuthenticatedContext) async throws -> ScheduleResponse {
        _ = try await requireSchedule(context)
        return try await replace(try await request.decode(as: ScheduleRequest.self, context: context), context: context)
    }

    /// Replaces the request's schedule and pushes the new set to the agent.
    func replace(_ body: ScheduleRequest, context: AuthenticatedContext) async throws -> ScheduleResponse {
        let existing = try await requireSchedule(context)
        let definition = try await definition(
            body, id: existing.id, on: existing.hostId, context: context, existing: existing)
        let record = try await services.database.updateSchedule(
            id: existing.id, definition: definition, by: context.auditActor)
        services.alerts.poke()
        await services.hub.pushSchedules(hostID: record.hostId)
        return ScheduleResponse(record, timeZone: try await timeZone(of: record.hostId))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        _ = try await delete(context: context)
        return Response(status: .noContent)
    }

    /// Deletes the request's schedule; returns the host it belonged to.
    func delete(context: AuthenticatedContext) async throws -> HostID {
        let existing = try await requireSchedule(context)
        let hostID = try await services.database.deleteSchedule(id: existing.id, by: context.auditActor)
        services.alerts.poke()
        await services.hub.pushSchedules(hostID: hostID)
        return hostID
    }

    struct PreviewResponse: ResponseEncodable, Sendable {
        let nextRuns: [Date]
    }

    /// The next five runs of a cron expression in the host's time zone, for
    /// the schedule editor's live check; a bad expression gets the same 400
    /// as saving it would.
    @Sendable func preview(_ request: Request, context: AuthenticatedContext) async throws -> PreviewResponse {
        let id = HostID(try context.parameters.require("id"))
        guard try await services.database.host(id: id) != nil else { throw APIError.notFound("host") }
        let text = request.uri.queryParameters["cron_expr"].map(String.init) ?? ""
        guard text.utf8.count <= 256 else { throw APIError.validation("cron_expr", "must be at most 256 characters") }
        let expression: CronExpression
        do {
            expression = try CronExpression(text)
        } catch {
            throw APIError.validation("cron_expr", error.description)
        }
        return PreviewResponse(nextRuns: expression.nextRuns(after: Date(), in: try await timeZone(of: id), count: 5))
    }
}
