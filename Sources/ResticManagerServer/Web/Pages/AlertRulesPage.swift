import Foundation
import Hummingbird

/// The seven alert rules and their global settings (SPEC §9.1). Everyone
/// may read them, so a viewer knows when they will be alerted; only admins
/// change them, one form per rule, through `AlertController.setRule`.
struct AlertRulesPage {
    let services: ServerServices
    let responder: WebResponder

    /// What each rule watches, in the words of docs/alerts.md.
    static func opensWhen(_ rule: AlertRule) -> String {
        switch rule {
        case .backupMissed: "a backup schedule's expected run is overdue by the threshold and has not started"
        case .backupStale: "a host with a backup schedule has had no successful backup for the threshold"
        case .jobFailed: "the latest finished job of a schedule (or kind) failed"
        case .hostOffline: "a host has been offline for the threshold"
        case .checkFailed: "the newest repository check failed"
        case .schedulePending: "the agent has not confirmed the newest schedules for the threshold"
        case .repoLocked: "the repository has been locked for the threshold while no job runs"
        }
    }

    /// One rule's row: stored values, or what was typed when saving failed.
    struct Row {
        let rule: String
        let severity: String
        let opensWhen: String
        let enabled: Bool
        let hasThreshold: Bool
        let threshold: String
        let defaultThreshold: String
        let repeatMinutes: String
        let thresholdText: String
        let repeatText: String
        let formError: String?
        let errors: [String: String]
    }

    struct Model {
        let rows: [Row]
        let canEdit: Bool
    }

    /// A refused form: the rule it was for, the fields as typed, the refusal.
    struct Refused {
        let rule: AlertRule
        let form: FormFields
        let error: APIError
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.on("/alerts/rules", method: .get, access: .viewer, use: show)
        group.on("/alerts/rules/{rule}", method: .post, access: .admin, use: save)
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await render(request, context: context, refused: nil)
    }

    @Sendable func save(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        // A viewer's or operator's post gets the error page, not a form it cannot use.
        let name = try context.parameters.require("rule")
        let form = try await FormFields.of(request)
        do {
            guard let rule = AlertRule(rawValue: name) else { throw APIError.notFound("alert rule") }
            let settings = try await AlertController(services: services).setRule(
                name, try Self.request(from: form, rule: rule), context: context)
            return WebResponse.redirect(
                to: "/alerts/rules#rule-\(settings.rule.rawValue)",
                flash: "Rule \(settings.rule.rawValue) saved; the rules were evaluated again with it.")
        } catch {
            guard let refusal = FormFields.refusalShownOnTheForm(error), let rule = AlertRule(rawValue: name) else {
                throw error
            }
            return try await render(request, context: context, refused: Refused(rule: rule, form: form, error: refusal))
        }
    }

    private func render(_ request: Request, context: AuthenticatedContext, refused: Refused?) async throws -> Response {
        let rules = try await services.database.alertRules()
        let rows = AlertRule.allCases.map { rule in
            Self.row(rules.first { $0.rule == rule } ?? .defaults(rule), refused: refused?.rule == rule ? refused : nil)
        }
        let model = Model(rows: rows, canEdit: context.user.role >= .admin)
        return try await responder.page("alert-rules", title: "Alert rules", section: "alerts", page: model,
                                        request: request, context: context, status: refused?.error.status ?? .ok)
    }

    static func row(_ settings: AlertRuleSettings, refused: Refused?) -> Row {
        let rule = settings.rule
        let threshold = refused?.form.text("threshold_minutes") ?? minutes(settings.thresholdMinutes)
        let repeatMinutes = refused?.form.text("repeat_minutes") ?? minutes(settings.repeatMinutes)
        return Row(
            rule: rule.rawValue, severity: rule.severity.rawValue, opensWhen: opensWhen(rule),
            enabled: refused.map { $0.form.isChecked("enabled") } ?? settings.enabled,
            hasThreshold: rule.defaultThresholdMinutes != nil, threshold: threshold,
            defaultThreshold: minutes(rule.defaultThresholdMinutes),
            repeatMinutes: repeatMinutes,
            thresholdText: settings.thresholdMinutes.map { "\(minutes($0)) min" } ?? "on the event",
            repeatText: settings.repeatMinutes.map { "every \(minutes($0)) min" } ?? "none",
            formError: refused.map { "Rule \(rule.rawValue) was not saved: \($0.error.message)" },
            errors: refused?.error.fields ?? [:])
    }

    /// "60", "0.5"; "" for none.
    static func minutes(_ value: Double?) -> String {
        guard let value else { return "" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// The form as the API's request. An empty threshold goes back to the
    /// rule's default; an empty repeat means no repeats. A threshold sent
    /// for a rule without one is passed on, so the API refuses it.
    static func request(from form: FormFields, rule: AlertRule) throws -> AlertController.RuleRequest {
        var threshold: Double?
        if let text = form.optionalText("threshold_minutes") {
            guard let value = Double(text) else {
                throw APIError.validation("threshold_minutes", "must be a number of minutes, such as 60 or 0.5")
            }
            threshold = value
        } else {
            threshold = rule.defaultThresholdMinutes
        }
        var repeatMinutes = AlertController.RuleRequest.RepeatValue.off
        if let text = form.optionalText("repeat_minutes") {
            guard let value = Double(text) else {
                throw APIError.validation("repeat_minutes", "must be a number of minutes, or empty for no repeats")
            }
            repeatMinutes = .minutes(value)
        }
        return AlertController.RuleRequest(enabled: form.isChecked("enabled"), thresholdMinutes: threshold,
                                           repeatMinutes: repeatMinutes)
    }
}

extension AlertController.RuleRequest {
    /// A rule change made by a form rather than decoded from JSON.
    init(enabled: Bool?, thresholdMinutes: Double?, repeatMinutes: RepeatValue) {
        self.enabled = enabled
        self.thresholdMinutes = thresholdMinutes
        self.repeatMinutes = repeatMinutes
    }
}
