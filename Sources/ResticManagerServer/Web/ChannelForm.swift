import Foundation
import Hummingbird
import ResticManagerCore

/// The notification channel forms: their fields as stored or as typed, and
/// the translation of a submitted form into the API's `ChannelRequest`, so a
/// form gets exactly the API's validation. The secret fields (webhook secret
/// and headers, SMTP password) are write-only: never rendered, kept when
/// left empty, cleared with their checkbox.
enum ChannelForm {
    /// The non-secret values a form shows.
    struct Fields {
        var name = ""
        var enabled = true
        var events = Set(NotificationEvent.subscribable.map(\.rawValue))
        var url = ""
        var host = ""
        var port = "587"
        var security = SMTPSecurity.starttls.rawValue
        var username = ""
        var from = ""
        var to = ""
    }

    struct EventChoice {
        let value: String
        let field: String
        let checked: Bool
    }

    /// One form as the templates render it.
    struct View {
        let prefix: String
        let formID: String
        let action: String
        let kind: String
        let isWebhook: Bool
        let isNew: Bool
        let fields: Fields
        let eventChoices: [EventChoice]
        let securities: [Choice]
        let secretSet: Bool
        let headersSet: Bool
        let passwordSet: Bool
        let formError: String?
        let errors: [String: String]

        init(kind: ChannelKind, action: String, isNew: Bool, fields: Fields,
             secrets: NotificationChannelController.ChannelResponse.Config? = nil, error: APIError? = nil,
             typedSecrets: [String] = [])
        {
            prefix = isNew ? kind.rawValue : "channel"
            formID = "\(prefix)-form"
            self.action = action
            self.kind = kind.rawValue
            isWebhook = kind == .webhook
            self.isNew = isNew
            self.fields = fields
            eventChoices = NotificationEvent.subscribable.map {
                EventChoice(value: $0.rawValue, field: ChannelForm.eventField($0), checked: fields.events.contains($0.rawValue))
            }
            securities = SMTPSecurity.allCases.map { Choice(value: $0.rawValue, selected: $0.rawValue == fields.security) }
            secretSet = secrets?.secretSet ?? false
            headersSet = secrets?.headersSet ?? false
            passwordSet = secrets?.passwordSet ?? false
            // Secrets are never echoed back, so say that they must be typed again.
            let note = typedSecrets.isEmpty ? "" : " The \(typedSecrets.joined(separator: " and ")) you typed "
                + "\(typedSecrets.count == 1 ? "was" : "were") not saved; enter \(typedSecrets.count == 1 ? "it" : "them") again."
            formError = error.map { "The channel was not saved: \($0.message)." + note }
            errors = ChannelForm.fieldErrors(error)
        }
    }

    /// `alert.opened` → `event_alert_opened`: form field names without dots.
    static func eventField(_ event: NotificationEvent) -> String {
        "event_" + event.rawValue.replacingOccurrences(of: ".", with: "_")
    }

    /// `Name: value`, one header per line, as the API's `headers` object.
    static func headers(_ text: String) throws -> [String: String] {
        var headers: [String: String] = [:]
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        for (index, line) in lines.enumerated() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw APIError.validation("config.headers", "line \(index + 1) is not \"Name: value\"")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                throw APIError.validation("config.headers", "line \(index + 1) has no header name before the colon")
            }
            guard headers.keys.allSatisfy({ $0.caseInsensitiveCompare(name) != .orderedSame }) else {
                throw APIError.validation("config.headers", "\(String(name.prefix(64))) is given twice")
            }
            headers[name] = value
        }
        return headers
    }

    /// The submitted form as the API's request. `kind` comes from the page
    /// (the create form's hidden field, or the stored channel), not from
    /// what a hand-made form says.
    static func request(from form: FormFields, kind: ChannelKind) throws -> NotificationChannelController.ChannelRequest {
        var config: [String: JSONValue] = [:]
        /// nil keeps the stored value, "" clears it.
        func secret(_ name: String) -> JSONValue? {
            if form.isChecked("clear_\(name)") { return .string("") }
            guard let value = form[name], !value.isEmpty else { return nil }
            return .string(value)
        }
        switch kind {
        case .webhook:
            config["url"] = .string(form.text("url"))
            config["secret"] = secret("secret")
            if form.isChecked("clear_headers") {
                config["headers"] = .object([:])
            } else if !form.lines("headers").isEmpty {
                config["headers"] = .object(try headers(form["headers"] ?? "").mapValues(JSONValue.string))
            }
        case .email:
            config["host"] = .string(form.text("host"))
            let port = form.text("port")
            // Not a number: sent as it is, so the API's own message names the field.
            config["port"] = Int64(port).map(JSONValue.integer) ?? (port.isEmpty ? nil : .string(port))
            config["security"] = .string(form.text("security"))
            config["username"] = .string(form.text("username"))
            config["password"] = secret("password")
            config["from"] = .string(form.text("from"))
            config["to"] = .array(form.lines("to").map(JSONValue.string))
        }
        let events = NotificationEvent.subscribable.filter { form.isChecked(eventField($0)) }.map(\.rawValue)
        return NotificationChannelController.ChannelRequest(
            name: form.text("name"), kind: kind.rawValue, enabled: form.isChecked("enabled"), events: events,
            config: .object(config.compactMapValues { $0 }))
    }

    /// The secret fields a refused form carried, by the words the message uses.
    static func typedSecrets(_ form: FormFields, kind: ChannelKind) -> [String] {
        let names: [(field: String, word: String)] = kind == .webhook
            ? [("secret", "secret"), ("headers", "headers")] : [("password", "password")]
        return names.filter { !(form[$0.field] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            .map(\.word)
    }

    static func fields(of channel: NotificationChannel) -> Fields {
        var fields = Fields()
        fields.name = channel.name
        fields.enabled = channel.enabled
        fields.events = Set(channel.events.map(\.rawValue))
        switch channel.settings {
        case .webhook(let webhook):
            fields.url = webhook.url
        case .email(let email):
            fields.host = email.host
            fields.port = String(email.port)
            fields.security = email.security.rawValue
            fields.username = email.username ?? ""
            fields.from = email.from
            fields.to = email.to.joined(separator: "\n")
        }
        return fields
    }

    static func fields(of form: FormFields) -> Fields {
        var fields = Fields()
        fields.name = form.text("name")
        fields.enabled = form.isChecked("enabled")
        fields.events = Set(NotificationEvent.subscribable.filter { form.isChecked(eventField($0)) }.map(\.rawValue))
        fields.url = form.text("url")
        fields.host = form.text("host")
        fields.port = form.text("port")
        fields.security = form.text("security")
        fields.username = form.text("username")
        fields.from = form.text("from")
        fields.to = form["to"] ?? ""
        return fields
    }

    /// Field errors keyed by the input they belong to: `config.url` → `url`,
    /// `config.headers.X-Token` → `headers`, `config.to[2]` → `to`,
    /// `events[0]` → `events`; what names no input goes to `form`.
    static func fieldErrors(_ error: APIError?) -> [String: String] {
        let inputs: Set<String> = ["name", "events", "url", "secret", "headers", "host", "port", "security", "username",
                                   "password", "from", "to", "kind"]
        var errors: [String: String] = [:]
        for (field, reason) in error?.fields ?? [:] {
            let shown = field.hasPrefix("config.") ? String(field.dropFirst("config.".count)) : field
            var name = shown
            if let cut = name.firstIndex(where: { $0 == "[" || $0 == "." }) { name = String(name[..<cut]) }
            if !inputs.contains(name) { name = "form" }
            errors[name] = shown == name ? reason : "\(shown): \(reason)"
        }
        return errors
    }
}
