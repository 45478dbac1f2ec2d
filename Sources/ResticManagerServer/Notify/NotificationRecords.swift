import Foundation
import GRDB

public enum ChannelKind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case webhook, email
}

/// What a notification says. Channels subscribe to the alert events; `test`
/// is sent on request and the ping events go to a schedule's ping URL.
public enum NotificationEvent: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case alertOpened = "alert.opened"
    case alertResolved = "alert.resolved"
    case test
    case pingStart = "ping.start"
    case pingSuccess = "ping.success"
    case pingFail = "ping.fail"

    /// The events a channel may subscribe to.
    public static let subscribable: [NotificationEvent] = [.alertOpened, .alertResolved]
}

public enum DeliveryStatus: String, Codable, Sendable, DatabaseValueConvertible {
    case pending, delivered, failed
}

enum NotificationTarget: String, Codable, Sendable, DatabaseValueConvertible {
    case channel, ping
}

/// A channel's settings that are not secret, stored as plain JSON.
struct WebhookConfig: Codable, Sendable, Equatable {
    var url: String
}

struct EmailConfig: Codable, Sendable, Equatable {
    var host: String
    var port: Int
    var security: SMTPSecurity
    var username: String?
    var from: String
    var to: [String]
}

/// A channel's secret settings, sealed together at rest (SPEC §8, §9.3).
struct ChannelSecrets: Codable, Sendable, Equatable {
    /// Webhook HMAC key.
    var secret: String?
    /// Extra webhook request headers: often credentials, so secret.
    var headers: [String: String]?
    /// SMTP password.
    var password: String?

    var isEmpty: Bool { secret == nil && (headers ?? [:]).isEmpty && password == nil }
}

/// A channel's settings by kind: a webhook can never carry SMTP settings.
enum ChannelSettings: Sendable, Equatable {
    case webhook(WebhookConfig)
    case email(EmailConfig)

    var kind: ChannelKind {
        switch self {
        case .webhook: .webhook
        case .email: .email
        }
    }

    var configJSON: String {
        let data: Data? = switch self {
        case .webhook(let config): try? JSONEncoder.sortedKeys.encode(config)
        case .email(let config): try? JSONEncoder.sortedKeys.encode(config)
        }
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func decode(kind: ChannelKind, json: String) throws -> ChannelSettings {
        let data = Data(json.utf8)
        return switch kind {
        case .webhook: .webhook(try JSONDecoder().decode(WebhookConfig.self, from: data))
        case .email: .email(try JSONDecoder().decode(EmailConfig.self, from: data))
        }
    }
}

struct NotificationChannelRecord: IdentifiedRecord, Sendable, Equatable {
    static let databaseTableName = "notification_channels"
    var id: ChannelID
    var name: String
    var kind: ChannelKind
    var enabled: Bool
    var events: [NotificationEvent]
    var config: String
    var secretsEnc: Data?
    var createdAt: Date
    var updatedAt: Date
}

/// A channel as the store hands it out: settings parsed, secrets still sealed.
public struct NotificationChannel: Sendable, Equatable {
    public var id: ChannelID
    public var name: String
    public var enabled: Bool
    public var events: [NotificationEvent]
    var settings: ChannelSettings
    var secretsSealed: [UInt8]?
    public var createdAt: Date
    public var updatedAt: Date

    var kind: ChannelKind { settings.kind }
}

/// A new or changed channel, secrets already sealed. For `secretsSealed`,
/// nil keeps the stored value and `.some(nil)` clears it.
struct ChannelChange: Sendable {
    var name: String
    var enabled: Bool
    var events: [NotificationEvent]
    var settings: ChannelSettings
    var secretsSealed: [UInt8]??
}

struct NotificationRecord: IdentifiedRecord, Sendable, Equatable {
    static let databaseTableName = "notifications"
    var id: DeliveryID
    var target: NotificationTarget
    var channelId: ChannelID?
    var scheduleId: ScheduleID?
    var event: NotificationEvent
    var alertId: AlertID?
    var jobId: JobID?
    var payload: String
    var status: DeliveryStatus
    var attempts: Int
    var nextAttemptAt: Date?
    var lastError: String?
    var createdAt: Date
    var deliveredAt: Date?
}

/// A due notification with what its sender needs, secrets still sealed.
struct DueNotification: Sendable {
    enum Destination: Sendable {
        case channel(NotificationChannel)
        /// The schedule's sealed ping URL.
        case ping(scheduleID: ScheduleID, sealedURL: [UInt8])
    }

    var notification: NotificationRecord
    var destination: Destination
}

/// When a failed delivery is tried again (docs/alerts.md): 10 s, doubling,
/// at most 10 min apart, until 24 h after the notification was made.
enum DeliveryBackoff {
    static let first: TimeInterval = 10
    static let longest: TimeInterval = 600
    static let giveUpAfter: TimeInterval = 24 * 3600

    /// The next attempt after `attempts` failures, or nil to give up.
    static func nextAttempt(after attempts: Int, createdAt: Date, now: Date) -> Date? {
        guard now.timeIntervalSince(createdAt) < giveUpAfter else { return nil }
        return now.addingTimeInterval(min(longest, first * pow(2, Double(max(0, attempts - 1)))))
    }
}
