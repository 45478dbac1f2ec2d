import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ResticManagerCrypto
import ResticManagerProtocol

/// Webhook and ping-URL requests (SPEC §9.3), over one HTTP client that
/// follows no redirects: a 3xx is an answer, not a delivery.
struct HTTPNotifier: Sendable {
    let client: HTTPClient
    var timeout: TimeAmount = .seconds(30)

    /// The webhook body; its exact bytes are what the signature covers.
    static func webhookBody(event: NotificationEvent, deliveryID: DeliveryID, sentAt: Date, alertJSON: String) -> [UInt8] {
        // Keys in sorted order, like every other JSON the server writes; the
        // alert is JSON the server made itself when the event happened.
        Array("{\"alert\":\(alertJSON),\"delivery_id\":\"\(deliveryID)\",\"event\":\"\(event.rawValue)\",\"sent_at\":\"\(RFC3339.format(sentAt))\"}".utf8)
    }

    func postWebhook(
        url: String, secrets: ChannelSecrets, event: NotificationEvent, deliveryID: DeliveryID, alertJSON: String
    ) async -> DeliveryOutcome {
        let body = Self.webhookBody(event: event, deliveryID: deliveryID, sentAt: Date(), alertJSON: alertJSON)
        var headers = HTTPHeaders()
        for (name, value) in secrets.headers ?? [:] { headers.replaceOrAdd(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "X-RM-Event", value: event.rawValue)
        headers.replaceOrAdd(name: "X-RM-Delivery", value: deliveryID.rawValue)
        if let secret = secrets.secret, !secret.isEmpty {
            let signature = MessageAuthentication.hmacSHA256Hex(key: Array(secret.utf8), message: body)
            headers.replaceOrAdd(name: "X-RM-Signature", value: "sha256=\(signature)")
        }
        // Header values are secrets too: never let one into an error text.
        let hidden = (secrets.headers ?? [:]).values.filter { !$0.isEmpty } + [secrets.secret].compactMap { $0 }
        return await post(url: url, headers: headers, body: body, hidden: hidden)
    }

    /// `POST {ping_url}{suffix}?rid={job}`; the URL is a secret and never
    /// appears in the outcome.
    func ping(url: String, event: NotificationEvent, jobID: JobID?, body: String) async -> DeliveryOutcome {
        guard let target = Self.pingTarget(url, event: event, jobID: jobID) else {
            return .failed("the ping URL is not a valid http(s) URL; set it again on the schedule", retry: false)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        return await post(url: target, headers: headers, body: Array(body.utf8), hidden: [url, target])
    }

    static func pingTarget(_ url: String, event: NotificationEvent, jobID: JobID?) -> String? {
        guard var components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased())
        else { return nil }
        let suffix = switch event {
        case .pingStart: "/start"
        case .pingFail: "/fail"
        default: ""
        }
        if !suffix.isEmpty {
            components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + suffix
        }
        if let jobID {
            components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "rid", value: jobID.rawValue)]
        }
        return components.string
    }

    private func post(url: String, headers: HTTPHeaders, body: [UInt8], hidden: [String]) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.headers.replaceOrAdd(name: "User-Agent", value: "restic-manager/\(serverVersion)")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: timeout)
            // Read (and drop) a bounded body so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(Int(response.status.code)) else {
                let redirect = (300..<400).contains(Int(response.status.code)) ? " (redirects are not followed)" : ""
                return .failed("HTTP \(response.status.code)\(redirect)", retry: true)
            }
            return .delivered
        } catch {
            return .failed(Scrub.hide(hidden, in: "\(error)"), retry: true)
        }
    }
}

/// What one attempt came to.
enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// `retry: false` for failures no retry can mend (a secret that no
    /// longer opens, an invalid address).
    case failed(String, retry: Bool)
}

/// Keeps secrets out of error texts that end up in the deliveries list.
enum Scrub {
    static func hide(_ secrets: [String], in text: String) -> String {
        var text = text
        for secret in secrets where secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "[hidden]")
            if let url = URL(string: secret), url.path.count >= 4 {
                text = text.replacingOccurrences(of: url.path, with: "[hidden]")
            }
        }
        return String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) }
            .prefix(300))
    }
}
