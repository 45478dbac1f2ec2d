import Foundation
import Hummingbird

/// Alerts and alert rules (SPEC §9.2).
struct AlertController {
    let services: ServerServices

    struct RuleResponse: ResponseEncodable, Sendable {
        let rule: AlertRule
        let enabled: Bool
        @ExplicitNull var thresholdMinutes: Double?
        @ExplicitNull var repeatMinutes: Double?
        @ExplicitNull var defaultThresholdMinutes: Double?
        let severity: AlertSeverity

        init(_ settings: AlertRuleSettings) {
            rule = settings.rule
            enabled = settings.enabled
            thresholdMinutes = settings.thresholdMinutes
            repeatMinutes = settings.repeatMinutes
            defaultThresholdMinutes = settings.rule.defaultThresholdMinutes
            severity = settings.rule.severity
        }
    }

    struct RulesResponse: ResponseEncodable, Sendable {
        let items: [RuleResponse]
    }

    /// Absent fields stay as they are; `repeat_minutes: null` turns repeats off.
    struct RuleRequest: Decodable {
        let enabled: Bool?
        let thresholdMinutes: Double?
        let repeatMinutes: RepeatValue

        enum CodingKeys: String, CodingKey { case enabled, thresholdMinutes, repeatMinutes }

        static let schema = BodySchema(
            optional: ["enabled": .boolean, "threshold_minutes": .number, "repeat_minutes": .number])

        /// Tells an absent `repeat_minutes` from an explicit `null`.
        enum RepeatValue: Equatable { case absent, off, minutes(Double) }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled)
            thresholdMinutes = try container.decodeIfPresent(Double.self, forKey: .thresholdMinutes)
            if !container.contains(.repeatMinutes) {
                repeatMinutes = .absent
            } else if try container.decodeNil(forKey: .repeatMinutes) {
                repeatMinutes = .off
            } else {
                repeatMinutes = .minutes(try container.decode(Double.self, forKey: .repeatMinutes))
            }
        }
    }

    static let maxThresholdMinutes: Double = 525_600

    func addRoutes(to group: RouterGroup<AuthenticatedContext>, catalog: RouteCatalog) {
        group.route(.get, "/alerts", catalog: catalog, summary: "Alerts, newest first (filters state, host_id, rule)",
                    access: .viewer,
                    query: QueryParameter.page + [
                        QueryParameter(name: "state", kind: .string, values: ["open", "resolved"]),
                        QueryParameter(name: "rule", kind: .string, values: AlertRule.allCases.map(\.rawValue)),
                        QueryParameter(name: "host_id", kind: .string),
                    ], use: list)
        group.route(.get, "/alerts/{id}", catalog: catalog, summary: "One alert", access: .viewer, use: get)
        group.route(.post, "/alerts/{id}/acknowledge", catalog: catalog,
                    summary: "Acknowledge an open alert: no more repeats; it stays open until it resolves",
                    access: .operator, errors: [.conflict], use: acknowledge)
        group.route(.get, "/alert-rules", catalog: catalog, summary: "The alert rules and their settings",
                    access: .viewer, use: rules)
        group.route(.put, "/alert-rules/{rule}", catalog: catalog,
                    summary: "Change a rule (enabled, threshold_minutes, repeat_minutes)", access: .admin,
                    body: RuleRequest.schema, use: putRule)
    }

    static func filter(from request: Request) throws -> AlertFilter {
        var filter = AlertFilter()
        let query = request.uri.queryParameters
        if let state = query["state"], !state.isEmpty {
            guard let value = AlertState(rawValue: String(state)) else {
                throw APIError.validation("state", "must be open or resolved")
            }
            filter.state = value
        }
        if let rule = query["rule"], !rule.isEmpty {
            guard let value = AlertRule(rawValue: String(rule)) else {
                throw APIError.validation("rule", "must be one of \(AlertRule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.rule = value
        }
        if let host = query["host_id"], !host.isEmpty {
            guard host.count <= 64 else { throw APIError.validation("host_id", "must be at most 64 characters") }
            filter.hostID = HostID(String(host))
        }
        return filter
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> ListResponse<AlertView> {
        let page = try await services.database.alerts(filter: try Self.filter(from: request),
                                                      page: try PageCursor.page(from: request))
        return ListResponse(page, map: AlertView.init)
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> AlertView {
        let id = try context.parameters.require("id")
        guard let alert = try await services.database.alert(id: AlertID(id)) else { throw APIError.notFound("alert") }
        return AlertView(alert)
    }

    @Sendable func acknowledge(_ request: Request, context: AuthenticatedContext) async throws -> AlertView {
        try await acknowledge(context: context)
    }

    /// Acknowledges the request's alert.
    func acknowledge(context: AuthenticatedContext) async throws -> AlertView {
        let id = try context.parameters.require("id")
        return AlertView(try await services.database.acknowledgeAlert(id: AlertID(id), by: context.auditActor))
    }

    @Sendable func rules(_ request: Request, context: AuthenticatedContext) async throws -> RulesResponse {
        return RulesResponse(items: try await services.database.alertRules().map(RuleResponse.init))
    }

    @Sendable func putRule(_ request: Request, context: AuthenticatedContext) async throws -> RuleResponse {
        let body = try await request.decode(as: RuleRequest.self, context: context)
        return RuleResponse(try await setRule(try context.parameters.require("rule"), body, context: context))
    }

    /// Validates and stores a rule change, then re-evaluates at once.
    func setRule(_ name: String, _ body: RuleRequest, context: AuthenticatedContext) async throws -> AlertRuleSettings {
        guard let rule = AlertRule(rawValue: name) else { throw APIError.notFound("alert rule") }
        var settings = try await services.database.alertRules().first { $0.rule == rule } ?? .defaults(rule)
        if let enabled = body.enabled { settings.enabled = enabled }
        if let threshold = body.thresholdMinutes {
            guard rule.defaultThresholdMinutes != nil else {
                throw APIError.validation("threshold_minutes", "\(rule.rawValue) opens on an event and has no threshold")
            }
            guard threshold.isFinite, threshold > 0, threshold <= Self.maxThresholdMinutes else {
                throw APIError.validation("threshold_minutes", "must be more than 0 and at most 525600 (a year)")
            }
            settings.thresholdMinutes = threshold
        }
        switch body.repeatMinutes {
        case .absent: break
        case .off: settings.repeatMinutes = nil
        case .minutes(let minutes):
            guard minutes.isFinite, minutes > 0, minutes <= Self.maxThresholdMinutes else {
                throw APIError.validation("repeat_minutes", "must be more than 0 and at most 525600, or null for no repeats")
            }
            settings.repeatMinutes = minutes
        }
        try await services.database.setAlertRule(settings, by: context.auditActor)
        services.alerts.poke()
        return settings
    }
}
