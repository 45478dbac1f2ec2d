import Foundation
import ResticManagerCore

/// Checks a notification channel as an admin submitted it (SPEC §9.3).
/// Everything that could smuggle a header or an SMTP command is refused
/// here, with the field and the reason; the senders check again.
enum ChannelValidation {
    static let maxHeaders = 20
    static let maxRecipients = 20
    /// Request headers the webhook sender sets itself.
    static let reservedHeaders: Set<String> = ["content-type", "content-length", "host", "transfer-encoding", "connection"]

    /// The secret fields of a request: nil keeps the stored value, "" clears it.
    struct SecretFields {
        var secret: String?
        var headers: [String: String]?
        var password: String?
    }

    static func settings(kind: ChannelKind, config: JSONValue) throws -> (ChannelSettings, SecretFields) {
        guard case .object(let fields) = config else { throw APIError.validation("config", "must be an object") }
        let allowed: Set<String> = switch kind {
        case .webhook: ["url", "secret", "headers"]
        case .email: ["host", "port", "security", "username", "password", "from", "to"]
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.validation("config.\(String(unknown.prefix(64)))",
                                      "is not a \(kind.rawValue) setting; use \(allowed.sorted().joined(separator: ", "))")
        }
        switch kind {
        case .webhook:
            let url = try httpURL(try string(fields["url"], "config.url", required: true) ?? "", field: "config.url")
            var secrets = SecretFields()
            secrets.secret = try secretText(fields["secret"], "config.secret")
            secrets.headers = try headers(fields["headers"])
            return (.webhook(WebhookConfig(url: url)), secrets)
        case .email:
            let host = try string(fields["host"], "config.host", required: true) ?? ""
            guard !host.isEmpty, host.utf8.count <= 253,
                host.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-:[]".unicodeScalars.contains($0)) })
            else { throw APIError.validation("config.host", "must be a host name or IP address") }
            guard case .integer(let port)? = fields["port"], (1...65535).contains(port) else {
                throw APIError.validation("config.port", "must be an integer from 1 to 65535")
            }
            guard let text = try string(fields["security"], "config.security", required: true),
                let security = SMTPSecurity(rawValue: text)
            else { throw APIError.validation("config.security", "must be starttls, tls or none") }
            let username = try string(fields["username"], "config.username").flatMap { $0.isEmpty ? nil : $0 }
            if let username {
                try singleLine(username, field: "config.username", maxLength: 256)
            }
            let from = try address(try string(fields["from"], "config.from", required: true) ?? "", field: "config.from")
            guard case .array(let list)? = fields["to"], (1...maxRecipients).contains(list.count) else {
                throw APIError.validation("config.to", "must be a list of 1 to \(maxRecipients) addresses")
            }
            let to = try list.enumerated().map { index, value in
                guard case .string(let text) = value else { throw APIError.validation("config.to[\(index)]", "must be a string") }
                return try address(text, field: "config.to[\(index)]")
            }
            var secrets = SecretFields()
            secrets.password = try secretText(fields["password"], "config.password")
            return (.email(EmailConfig(host: host, port: Int(port), security: security, username: username,
                                       from: from, to: to)), secrets)
        }
    }

    static func events(_ values: [String]?) throws -> [NotificationEvent] {
        guard let values else { return NotificationEvent.subscribable }
        guard !values.isEmpty else {
            throw APIError.validation("events", "must name at least one of alert.opened, alert.resolved")
        }
        var events: [NotificationEvent] = []
        for (index, value) in values.enumerated() {
            guard let event = NotificationEvent(rawValue: value), NotificationEvent.subscribable.contains(event) else {
                throw APIError.validation("events[\(index)]", "must be alert.opened or alert.resolved")
            }
            if !events.contains(event) { events.append(event) }
        }
        return events
    }

    /// An `http(s)://` URL with a host, no credentials and nothing that is
    /// not a printable character.
    static func httpURL(_ text: String, field: String) throws -> String {
        guard text.utf8.count <= 2048 else { throw APIError.validation(field, "must be at most 2048 characters") }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }) else {
            throw APIError.validation(field, "must not contain spaces or control characters")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else { throw APIError.validation(field, "must be an http:// or https:// URL with a host") }
        guard components.user == nil, components.password == nil else {
            throw APIError.validation(field, "must not embed credentials; use a secret header instead")
        }
        return text
    }

    /// `local@domain`, and nothing an SMTP dialogue or a header could be split on.
    static func address(_ text: String, field: String) throws -> String {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        let forbidden = CharacterSet(charactersIn: "<>()[]\\,;:\" ").union(.controlCharacters)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !text.unicodeScalars.contains(where: { forbidden.contains($0) }),
            parts[1].unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-".unicodeScalars.contains($0)) })
        else { throw APIError.validation(field, "must be one email address like ops@example.com") }
        return text
    }

    private static func headers(_ value: JSONValue?) throws -> [String: String]? {
        guard let value, value != .null else { return nil }
        guard case .object(let members) = value else { throw APIError.validation("config.headers", "must be an object") }
        guard members.count <= maxHeaders else {
            throw APIError.validation("config.headers", "must have at most \(maxHeaders) headers")
        }
        // RFC 9110 token characters.
        let token = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~").union(CharacterSet(charactersIn: "a"..."z"))
            .union(CharacterSet(charactersIn: "A"..."Z")).union(CharacterSet(charactersIn: "0"..."9"))
        var headers: [String: String] = [:]
        for name in members.keys.sorted() {
            let shown = String(name.prefix(64))
            guard !name.isEmpty, name.utf8.count <= 100, name.unicodeScalars.allSatisfy({ token.contains($0) }) else {
                throw APIError.validation("config.headers", "\(shown.debugDescription) is not a valid header name")
            }
            let lower = name.lowercased()
            guard !reservedHeaders.contains(lower), !lower.hasPrefix("x-rm-") else {
                throw APIError.validation("config.headers", "\(shown) is set by the server")
            }
            guard case .string(let text)? = members[name] else {
                throw APIError.validation("config.headers.\(shown)", "must be a string")
            }
            try singleLine(text, field: "config.headers.\(shown)", maxLength: 4096)
            headers[name] = text
        }
        return headers
    }

    private static func string(_ value: JSONValue?, _ field: String, required: Bool = false) throws -> String? {
        switch value {
        case .string(let text)?: return text
        case nil, .null?:
            if required { throw APIError.validation(field, "is required") }
            return nil
        default: throw APIError.validation(field, "must be a string")
        }
    }

    /// A write-only value: nil keeps, "" clears; one line, no NUL.
    private static func secretText(_ value: JSONValue?, _ field: String) throws -> String? {
        guard let text = try string(value, field) else { return nil }
        try singleLine(text, field: field, maxLength: 4096)
        return text
    }

    private static func singleLine(_ text: String, field: String, maxLength: Int) throws {
        guard text.utf8.count <= maxLength else { throw APIError.validation(field, "must be at most \(maxLength) bytes") }
        guard !text.unicodeScalars.contains(where: { $0 == "\0" || $0 == "\r" || $0 == "\n" }) else {
            throw APIError.validation(field, "must be one line without NUL")
        }
    }
}
