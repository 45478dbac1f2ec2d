import Foundation

/// Which hosts a list shows: the fleet page and `GET /api/v1/hosts` read the
/// same query parameters (`status`, `attention`, `q`), so a page's URL is
/// also the API call that lists the same hosts.
public struct HostFilter: Sendable, Equatable {
    public enum Presence: String, CaseIterable, Sendable {
        case online, offline
    }

    public enum Attention: Sendable, Equatable {
        /// Hosts with at least one reason.
        case needed
        /// Hosts with none.
        case healthy
        case reason(AttentionReason)
    }

    /// Longest accepted search text: a name or hostname is rarely longer,
    /// and the bound keeps a hostile query from costing more than a scan.
    public static let maxSearchLength = 200

    public var presence: Presence?
    public var attention: Attention?
    /// Matched case-insensitively against any part of the name or hostname.
    public var search: String?

    public init(presence: Presence? = nil, attention: Attention? = nil, search: String? = nil) {
        self.presence = presence
        self.attention = attention
        self.search = search
    }

    public var isEmpty: Bool { presence == nil && attention == nil && search == nil }

    /// The query parameters, for the OpenAPI document.
    static let parameters = [
        QueryParameter(name: "status", kind: .string, values: Presence.allCases.map(\.rawValue)),
        QueryParameter(name: "attention", kind: .string, values: ["true", "false"] + AttentionReason.allCases.map(\.rawValue)),
        QueryParameter(name: "q", kind: .string),
    ]

    /// Reads `status`, `attention` and `q`; an empty value means "not set",
    /// as an HTML form sends for an unselected choice.
    public init(status: String?, attention: String?, search: String?) throws(HostFilterError) {
        if let status, !status.isEmpty {
            guard let presence = Presence(rawValue: status) else { throw .badStatus }
            self.presence = presence
        }
        if let attention, !attention.isEmpty {
            switch attention {
            case "true": self.attention = .needed
            case "false": self.attention = .healthy
            default:
                guard let reason = AttentionReason(rawValue: attention) else { throw .badAttention }
                self.attention = .reason(reason)
            }
        }
        if let search {
            let trimmed = search.trimmingCharacters(in: .whitespaces)
            guard trimmed.count <= Self.maxSearchLength else { throw .searchTooLong }
            guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .searchHasControlCharacters
            }
            if !trimmed.isEmpty { self.search = trimmed }
        }
    }

    /// The query string that reproduces this filter, for links and forms.
    public var queryItems: [(name: String, value: String)] {
        var items: [(name: String, value: String)] = []
        if let presence { items.append(("status", presence.rawValue)) }
        switch attention {
        case .needed: items.append(("attention", "true"))
        case .healthy: items.append(("attention", "false"))
        case .reason(let reason): items.append(("attention", reason.rawValue))
        case nil: break
        }
        if let search { items.append(("q", search)) }
        return items
    }
}

/// A filter parameter that cannot be read, and what it must be.
public enum HostFilterError: Error, Equatable, CustomStringConvertible {
    case badStatus
    case badAttention
    case searchTooLong
    case searchHasControlCharacters

    /// The query parameter at fault.
    public var parameter: String {
        switch self {
        case .badStatus: "status"
        case .badAttention: "attention"
        case .searchTooLong, .searchHasControlCharacters: "q"
        }
    }

    public var reason: String {
        switch self {
        case .badStatus: "must be one of: " + HostFilter.Presence.allCases.map(\.rawValue).joined(separator: ", ")
        case .badAttention:
            "must be true, false or one of: " + AttentionReason.allCases.map(\.rawValue).joined(separator: ", ")
        case .searchTooLong: "must be at most \(HostFilter.maxSearchLength) characters"
        case .searchHasControlCharacters: "must not contain control characters"
        }
    }

    public var description: String { "\(parameter): \(reason)" }
}
