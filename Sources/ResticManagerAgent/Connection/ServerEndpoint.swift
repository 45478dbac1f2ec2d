import Foundation

/// Why a server URL cannot be used.
public enum ServerEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case unsupportedScheme(String)
    case plaintextToRemoteHost(String)
    case tlsToIPAddress(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid server URL \"\(url)\": expected http(s)://HOST[:PORT]"
        case .unsupportedScheme(let scheme): "unsupported server URL scheme \"\(scheme)\": use https:// (or http:// for loopback)"
        case .plaintextToRemoteHost(let host):
            "refusing an unencrypted connection to \(host): use https://, or pass --insecure to allow plain HTTP"
        case .tlsToIPAddress(let host):
            "https:// to an IP address (\(host)) is not supported: use the DNS name in the server's certificate"
        }
    }
}

/// The server's base URL and the addresses derived from it.
public struct ServerEndpoint: Sendable, Equatable {
    /// `http(s)://host[:port][/prefix]` without a trailing slash.
    public let baseURL: String
    public let host: String
    public let usesTLS: Bool

    /// Accepts `http`, `https`, `ws` and `wss`. Plain text to a host that is
    /// not loopback needs `insecure` (SPEC §8).
    public init(_ text: String, insecure: Bool) throws(ServerEndpointError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw .invalidURL(trimmed) }
        switch scheme {
        case "https", "wss": usesTLS = true
        case "http", "ws": usesTLS = false
        default: throw .unsupportedScheme(scheme)
        }
        if !usesTLS && !insecure && !Self.isLoopback(host) { throw .plaintextToRemoteHost(host) }
        // The WebSocket client sends the host as TLS SNI, which may not be
        // an IP address; certificates are checked against a DNS name.
        if usesTLS && Self.isIPAddress(host) { throw .tlsToIPAddress(host) }
        var base = URLComponents()
        base.scheme = usesTLS ? "https" : "http"
        base.host = host
        base.port = components.port
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        base.path = path
        guard let url = base.string else { throw .invalidURL(trimmed) }
        self.baseURL = url
        self.host = host
    }

    /// `ws(s)://…/api/v1/agent/ws`.
    public var webSocketURL: String {
        (usesTLS ? "wss" : "ws") + baseURL.dropFirst(usesTLS ? 5 : 4) + "/api/v1/agent/ws"
    }

    public func apiURL(_ path: String) -> String { baseURL + "/api/v1" + path }

    static func isIPAddress(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if bare.contains(":") { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare.hasSuffix(".localhost") || bare == "::1" || bare.hasPrefix("127.")
    }
}
