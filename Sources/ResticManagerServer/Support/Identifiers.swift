import Foundation
import GRDB

/// A typed string identifier. The phantom `Tag` keeps a host id from being
/// passed where a job id is expected, while the wire and database still see a
/// plain string.
public struct Identifier<Tag>: Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral, DatabaseValueConvertible
{
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// A fresh random identifier (lower-case UUID, the form agents mint too).
    public static func random() -> Self { Self(UUID().uuidString.lowercased()) }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value: String = try container.decode(String.self)
        rawValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var databaseValue: DatabaseValue { rawValue.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Self? {
        guard let text = String.fromDatabaseValue(dbValue) else { return nil }
        return Identifier<Tag>(text)
    }
}

public enum UserTag {}
public enum SessionTag {}
public enum APITokenTag {}
public enum EnrollmentTokenTag {}
public enum HostTag {}
public enum ScheduleTag {}
public enum JobTag {}

public typealias UserID = Identifier<UserTag>
public typealias SessionID = Identifier<SessionTag>
public typealias APITokenID = Identifier<APITokenTag>
public typealias EnrollmentTokenID = Identifier<EnrollmentTokenTag>
public typealias HostID = Identifier<HostTag>
public typealias ScheduleID = Identifier<ScheduleTag>
public typealias JobID = Identifier<JobTag>

public enum AlertTag {}
public enum ChannelTag {}
public enum DeliveryTag {}

public typealias AlertID = Identifier<AlertTag>
public typealias ChannelID = Identifier<ChannelTag>
/// A notification's id: the `delivery_id` receivers see on every attempt.
public typealias DeliveryID = Identifier<DeliveryTag>
