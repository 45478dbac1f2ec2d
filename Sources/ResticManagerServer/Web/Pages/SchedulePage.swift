import Foundation
import Hummingbird
import ResticManagerCore
import ResticManagerProtocol

/// The schedule editor: create, change and delete a host's schedules. Saving
/// goes through `ScheduleController`, so the form gets exactly the API's
/// validation; a refused form comes back with the values typed and the
/// message next to the field it names.
struct SchedulePage {
    let services: ServerServices
    let responder: WebResponder

    static let keepCounts = ScheduleValidation.retentionCounts

    struct KeepField {
        let name: String
        let label: String
        let value: String
        let error: String?
    }

    /// The form's values, as stored or as typed.
    struct Fields {
        var kind = JobKind.backup.rawValue
        var cronExpr = "0 2 * * *"
        var paths = ""
        var excludes = ""
        var tags = ""
        var keep: [String: String] = [:]
        var keepWithin = ""
        var keepTags = ""
        var prune = false
        var options = ""
        var preHook = ""
        var postHook = ""
        var enabled = true
    }

    struct Model {
        let isNew: Bool
        let action: String
        let hostID: String
        let hostName: String
        let scheduleID: String?
        let timeZone: String
        let previewURL: String
        let kinds: [Choice]
        let fields: Fields
        let keepFields: [KeepField]
        let nextRuns: [String]
        let formError: String?
        let errors: [String: String]
        let canEditHooks: Bool
        let hasHooks: Bool
        /// The ping URL is write-only: the page only knows whether one is set.
        let pingURLSet: Bool
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/hosts/{id}/schedules/new", method: .get, access: .operator, use: newForm)
        group.on("/hosts/{id}/schedules", method: .post, access: .operator, use: create)
        group.on("/schedules/{id}/edit", method: .get, access: .operator, use: editForm)
        group.on("/schedules/{id}", method: .post, access: .operator, use: save)
        group.on("/schedules/{id}/delete", method: .post, access: .operator, use: delete)
    }

    @Sendable func newForm(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let host = try await HostController(services: services).requireHost(context)
        return try await render(request, context: context, host: host, schedule: nil, fields: Fields(), error: nil)
    }

    @Sendable func editForm(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let schedule = try await ScheduleController(services: services).requireSchedule(context)
        guard let host = try await services.database.host(id: schedule.hostId) else { throw APIError.notFound("host") }
        return try await render(request, context: context, host: host, schedule: schedule, fields: Self.fields(of: schedule),
                      error: nil)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let host = try await HostController(services: services).requireHost(context)
        let form = try await FormFields.of(request)
        do {
            let body = try Self.request(from: form, existing: nil)
            _ = try await ScheduleController(services: services).create(body, context: context)
        } catch {
            guard let error = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await render(request, context: context, host: host, schedule: nil, fields: Self.fields(of: form),
                          error: error, typedPingURL: form.optionalText("ping_url") != nil)
        }
        return WebResponse.redirect(to: "/hosts/\(host.id)#schedules", flash: "Schedule created and sent to the agent.")
    }

    @Sendable func save(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let controller = ScheduleController(services: services)
        let existing = try await controller.requireSchedule(context)
        guard let host = try await services.database.host(id: existing.hostId) else { throw APIError.notFound("host") }
        let form = try await FormFields.of(request)
        do {
            _ = try await controller.replace(try Self.request(from: form, existing: existing), context: context)
        } catch {
            guard let error = FormFields.refusalShownOnTheForm(error) else { throw error }
            return try await render(request, context: context, host: host, schedule: existing, fields: Self.fields(of: form),
                          error: error, typedPingURL: form.optionalText("ping_url") != nil)
        }
        return WebResponse.redirect(to: "/hosts/\(host.id)#schedules", flash: "Schedule saved and sent to the agent.")
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let hostID = try await ScheduleController(services: services).delete(context: context)
        return WebResponse.redirect(to: "/hosts/\(hostID)#schedules", flash: "Schedule deleted.")
    }

    private func render(_ request: Request, context: AuthenticatedContext, host: HostRecord, schedule: ScheduleRecord?,
                        fields: Fields, error: APIError?, typedPingURL: Bool = false) async throws -> Response {
        let errors = Self.fieldErrors(error)
        let zone = host.scheduleTimeZone
        let nextRuns = ((try? CronExpression(fields.cronExpr))?.nextRuns(after: Date(), in: zone, count: 5) ?? [])
            .map(WebFormat.timestamp)
        let model = Model(
            isNew: schedule == nil,
            action: schedule.map { "/schedules/\($0.id)" } ?? "/hosts/\(host.id)/schedules",
            hostID: host.id.rawValue, hostName: host.name, scheduleID: schedule?.id.rawValue,
            timeZone: zone.identifier, previewURL: "/api/v1/hosts/\(host.id)/schedules/preview",
            kinds: ScheduleValidation.schedulableKinds.map(\.rawValue).sorted().map {
                Choice(value: $0, selected: $0 == fields.kind)
            },
            fields: fields,
            keepFields: Self.keepCounts.map { name in
                KeepField(name: name, label: name.replacingOccurrences(of: "keep_", with: "").capitalized,
                          value: fields.keep[name] ?? "", error: errors[name])
            },
            nextRuns: errors["cron_expr"] == nil ? nextRuns : [],
            formError: error.map {
                // The ping URL is never echoed back, so say that it must be typed again.
                "The schedule was not saved: \($0.message)"
                    + (typedPingURL ? ". The ping URL you typed was not saved; enter it again." : "")
            },
            errors: errors, canEditHooks: context.user.role >= .admin,
            // From the stored schedule: a non-admin's form carries no hooks.
            hasHooks: !(schedule?.preHook ?? "").isEmpty || !(schedule?.postHook ?? "").isEmpty,
            pingURLSet: schedule?.pingUrlEnc != nil)
        return try await responder.page("schedule", title: schedule == nil ? "New schedule" : "Edit schedule", section: "dashboard",
                              page: model, request: request, context: context,
                              status: error.map(\.status) ?? .ok)
    }

    /// Field errors keyed by the form field they belong to:
    /// `retention_policy.keep_last` → `keep_last`, `paths[2]` → `paths`.
    static func fieldErrors(_ error: APIError?) -> [String: String] {
        var errors: [String: String] = [:]
        for (field, reason) in error?.fields ?? [:] {
            // Retention rules have inputs of their own; list items and
            // options share one input, so their message keeps the full path.
            let shown = field.hasPrefix("retention_policy.") ? String(field.dropFirst("retention_policy.".count)) : field
            var name = shown
            if name.hasPrefix("options.") { name = "options" }
            if let bracket = name.firstIndex(of: "[") { name = String(name[..<bracket]) }
            errors[name] = shown == name ? reason : "\(shown): \(reason)"
        }
        return errors
    }

    /// Turns the submitted form into the API's request. Hooks absent from the
    /// form (a non-admin's form has none) keep what the schedule has.
    static func request(from form: FormFields, existing: ScheduleRecord?) throws -> ScheduleController.ScheduleRequest {
        var retention: [String: JSONValue] = [:]
        for name in keepCounts {
            let text = form.text(name)
            guard !text.isEmpty else { continue }
            guard let number = Int64(text) else {
                throw APIError.validation("retention_policy.\(name)", "must be a whole number")
            }
            retention[name] = .integer(number)
        }
        if let within = form.optionalText("keep_within") { retention["keep_within"] = .string(within) }
        let keepTags = form.commaList("keep_tags")
        if !keepTags.isEmpty { retention["keep_tags"] = .array(keepTags.map(JSONValue.string)) }
        if form.isChecked("prune") { retention["prune"] = .bool(true) }

        var options: JSONValue?
        if let text = form.optionalText("options") {
            guard let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), case .object = parsed
            else {
                throw APIError.validation(
                    "options", "must be a JSON object such as {\"one_file_system\": true, \"limit_upload_kib\": 2048}")
            }
            options = parsed
        }
        return ScheduleController.ScheduleRequest(
            kind: form.text("kind"), cronExpr: form.text("cron_expr"), paths: form.lines("paths"),
            excludes: form.lines("excludes"), tags: form.commaList("tags"),
            retentionPolicy: retention.isEmpty ? nil : .object(retention), options: options,
            preHook: form["pre_hook"].map(Self.normalizedHook) ?? existing?.preHook,
            postHook: form["post_hook"].map(Self.normalizedHook) ?? existing?.postHook,
            enabled: form.isChecked("enabled"), pingUrl: pingURL(from: form))
    }

    /// The write-only ping URL: empty keeps the stored one (nil), the
    /// checkbox clears it ("").
    static func pingURL(from form: FormFields) -> String? {
        if form.isChecked("clear_ping_url") { return "" }
        return form.optionalText("ping_url")
    }

    /// Browsers send textarea line breaks as CRLF; hooks run in a POSIX shell.
    private static func normalizedHook(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func fields(of schedule: ScheduleRecord) -> Fields {
        var fields = Fields()
        fields.kind = schedule.kind.rawValue
        fields.cronExpr = schedule.cronExpr
        fields.paths = schedule.paths.joined(separator: "\n")
        fields.excludes = schedule.excludes.joined(separator: "\n")
        fields.tags = schedule.tags.joined(separator: ", ")
        if let text = schedule.retentionPolicy,
            let policy = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        {
            for name in keepCounts { fields.keep[name] = policy[name]?.int64Value.map(String.init) }
            fields.keepWithin = policy["keep_within"]?.stringValue ?? ""
            if case .array(let tags)? = policy["keep_tags"] {
                fields.keepTags = tags.compactMap(\.stringValue).joined(separator: ", ")
            }
            fields.prune = policy["prune"] == .bool(true)
        }
        fields.options = schedule.options ?? ""
        fields.preHook = schedule.preHook
        fields.postHook = schedule.postHook
        fields.enabled = schedule.enabled
        return fields
    }

    static func fields(of form: FormFields) -> Fields {
        var fields = Fields()
        fields.kind = form.text("kind")
        fields.cronExpr = form["cron_expr"] ?? ""
        fields.paths = form["paths"] ?? ""
        fields.excludes = form["excludes"] ?? ""
        fields.tags = form["tags"] ?? ""
        for name in keepCounts { fields.keep[name] = form.text(name) }
        fields.keepWithin = form.text("keep_within")
        fields.keepTags = form.text("keep_tags")
        fields.prune = form.isChecked("prune")
        fields.options = form["options"] ?? ""
        fields.preHook = form["pre_hook"] ?? ""
        fields.postHook = form["post_hook"] ?? ""
        fields.enabled = form.isChecked("enabled")
        return fields
    }
}
