import Hummingbird

extension ServerSettings {
    /// The URL hosts use to reach this server, for install commands and
    /// the installer: `--base-url` when given, else this request's own
    /// scheme and `Host`, which is right behind most setups and never stale
    /// when listening on port 0.
    func publicBaseURL(for request: Request) -> String {
        if let baseURL { return baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL }
        let scheme = secureCookies ? "https" : "http"
        return "\(scheme)://\(request.head.authority ?? "127.0.0.1")"
    }
}
