import Foundation
import NIOSSL

/// Turns an alert event into a plain-text email and sends it (SPEC §9.3).
struct EmailNotifier: Sendable {
    let tlsConfiguration: TLSConfiguration
    /// `--base-url`, for the link to the host page.
    let baseURL: String?

    /// The parts of the stored alert JSON an email needs.
    private struct AlertSummary: Decodable {
        let rule: String
        let hostId: String
        let hostName: String
        let message: String
    }

    func message(event: NotificationEvent, deliveryID: DeliveryID, alertJSON: String, config: EmailConfig) -> EmailMessage {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let alert = try? decoder.decode(AlertSummary.self, from: Data(alertJSON.utf8))
        let subject: String
        var body: String
        if let alert {
            let what = event == .alertResolved ? "resolved" : "opened"
            subject = "[restic-manager] \(alert.rule) \(what) on \(alert.hostName)"
            body = (event == .alertResolved ? "Resolved: " : "") + alert.message + "\n"
            if let baseURL {
                body += "\nHost: \(baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL)/hosts/\(alert.hostId)\n"
            }
        } else {
            subject = "[restic-manager] test notification"
            body = "This is a test from restic-manager: the email channel works.\n"
        }
        // Header-safe: host names and rules cannot carry line breaks into the subject.
        let safeSubject = String(subject.map { $0.isNewline || $0 == "\0" ? " " : $0 })
        return EmailMessage(from: config.from, to: config.to, subject: safeSubject, body: body,
                            messageID: "\(deliveryID)@restic-manager", date: Date())
    }

    func send(
        event: NotificationEvent, deliveryID: DeliveryID, alertJSON: String, config: EmailConfig, password: String?
    ) async -> DeliveryOutcome {
        let server = SMTPServerSettings(host: config.host, port: config.port, security: config.security,
                                        username: config.username, password: password)
        do {
            try await SMTPClient.send(
                message(event: event, deliveryID: deliveryID, alertJSON: alertJSON, config: config),
                via: server, tlsConfiguration: tlsConfiguration)
            return .delivered
        } catch let error as SMTPError {
            // A message the client refuses to build stays refused; anything
            // else (a server down, a certificate, even a missing STARTTLS)
            // may be fixed on the other side within the retry window.
            return .failed(Scrub.hide([password].compactMap { $0 }, in: "\(error)"), retry: error.kind != .invalidMessage)
        } catch {
            return .failed(Scrub.hide([password].compactMap { $0 }, in: "\(error)"), retry: true)
        }
    }
}
