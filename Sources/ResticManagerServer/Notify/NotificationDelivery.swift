import AsyncAlgorithms
import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOSSL
import ResticManagerCrypto
import ServiceLifecycle

/// Sends what the store's notification outbox holds (SPEC §9.3): due rows a
/// few at a time, each outcome committed before the row is looked at again,
/// failures retried with back-off. Rows survive restarts, so nothing is
/// lost while a receiver or the server is down.
final class NotificationDelivery: Service, Sendable {
    /// Sends in flight at most.
    static let batchSize = 16
    /// How often due rows are looked for without a poke: retries fall due
    /// by time alone.
    static let tick = Duration.seconds(1)

    private let database: AppDatabase
    private let secretBox: SecretBox
    private let http: HTTPNotifier
    private let email: EmailNotifier
    private let logger: Logger
    private let pokes: AsyncStream<Void>
    private let pokeContinuation: AsyncStream<Void>.Continuation

    init(database: AppDatabase, secretBox: SecretBox, tlsConfiguration: TLSConfiguration, baseURL: String?,
         logger: Logger) {
        self.database = database
        self.secretBox = secretBox
        var configuration = HTTPClient.Configuration(tlsConfiguration: tlsConfiguration, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        http = HTTPNotifier(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration))
        email = EmailNotifier(tlsConfiguration: tlsConfiguration, baseURL: baseURL)
        self.logger = logger
        (pokes, pokeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// New rows were written: look now rather than at the next tick.
    func poke() { pokeContinuation.yield() }

    func run() async throws {
        let ticks = AsyncTimerSequence(interval: Self.tick, clock: .continuous).map { _ in () }
        let inFlight = InFlight()
        // Each send runs on its own: a slow receiver holds up only its own
        // rows, never the others.
        await withDiscardingTaskGroup { group in
            for await _ in merge(pokes, ticks).cancelOnGracefulShutdown() {
                for item in await claimDue(into: inFlight) {
                    group.addTask {
                        await self.deliver(item)
                        await inFlight.remove(item.notification.id)
                        // A slot is free: more rows may be due behind this one.
                        self.poke()
                    }
                }
            }
            // Shutting down: sends still in flight stop and stay pending,
            // due at once after the restart or on another replica.
            group.cancelAll()
        }
        try? await database.releaseClaims(await inFlight.ids)
        try await http.client.shutdown()
    }

    /// Rows being sent now: at most `batchSize` at a time.
    private actor InFlight {
        var ids: Set<DeliveryID> = []
        func add(_ claimed: [DueNotification]) { ids.formUnion(claimed.map(\.notification.id)) }
        func remove(_ id: DeliveryID) { ids.remove(id) }
    }

    /// Longer than any one attempt (connect and read timeouts, SMTP's
    /// exchange): a row is never claimed by two senders at once.
    static let claimDuration = Duration.seconds(120)

    private func claimDue(into inFlight: InFlight) async -> [DueNotification] {
        do {
            let busy = await inFlight.ids.count
            guard busy < Self.batchSize else { return [] }
            let claimed = try await database.claimDueNotifications(
                now: Date(), limit: Self.batchSize - busy, claim: Self.claimDuration)
            await inFlight.add(claimed)
            return claimed
        } catch {
            logger.error("could not read due notifications", metadata: ["error": "\(error)"])
            return []
        }
    }

    private func deliver(_ item: DueNotification) async {
        let notification = item.notification
        let (kind, outcome) = await attempt(item)
        guard !Task.isCancelled else { return }
        do {
            switch outcome {
            case .delivered:
                try await database.recordDelivered(notification.id)
                Counter(label: "rm_notification_deliveries_total", dimensions: [("kind", kind), ("outcome", "delivered")])
                    .increment()
            case .failed(let reason, let retry):
                let gaveUp = try await database.recordDeliveryFailure(notification.id, error: reason, retry: retry)
                Counter(label: "rm_notification_deliveries_total",
                        dimensions: [("kind", kind), ("outcome", gaveUp ? "failed" : "retried")]).increment()
                logger.warning(gaveUp ? "notification failed for good" : "notification attempt failed", metadata: [
                    "delivery_id": "\(notification.id)", "event": "\(notification.event.rawValue)", "kind": "\(kind)",
                    "attempt": "\(notification.attempts + 1)", "error": "\(reason)",
                ])
            }
        } catch {
            // The outcome is lost, the row stays pending: it is sent again
            // (at least once), under the same delivery id.
            logger.error("could not record a delivery", metadata: ["delivery_id": "\(notification.id)", "error": "\(error)"])
        }
    }

    private func attempt(_ item: DueNotification) async -> (kind: String, DeliveryOutcome) {
        let notification = item.notification
        switch item.destination {
        case .channel(let channel):
            let secrets: ChannelSecrets
            do {
                secrets = try channel.secretsSealed.map {
                    try JSONDecoder().decode(
                        ChannelSecrets.self,
                        from: Data(try secretBox.open($0, associatedData: SecretAssociation.channelSecrets(channel.id)).utf8))
                } ?? ChannelSecrets()
            } catch {
                return (channel.kind.rawValue, .failed(
                    "the channel's secrets do not open with this server's key; set them again", retry: false))
            }
            switch channel.settings {
            case .webhook(let config):
                return ("webhook", await http.postWebhook(
                    url: config.url, secrets: secrets, event: notification.event, deliveryID: notification.id,
                    alertJSON: notification.payload))
            case .email(let config):
                return ("email", await email.send(
                    event: notification.event, deliveryID: notification.id, alertJSON: notification.payload,
                    config: config, password: secrets.password))
            }
        case .ping(let scheduleID, let sealedURL):
            guard let url = try? secretBox.open(sealedURL, associatedData: SecretAssociation.pingURL(scheduleID)) else {
                return ("ping", .failed(
                    "the schedule's ping URL does not open with this server's key; set it again", retry: false))
            }
            return ("ping", await http.ping(url: url, event: notification.event, jobID: notification.jobId,
                                            body: notification.payload))
        }
    }
}
