/// How much an HTTP connection may take from the server before it has
/// proved anything (#14 item 1). Without these, 1,100 silent TCP connections
/// used up a 1,024 file limit and `/healthz` stopped answering.
public struct ConnectionLimits: Sendable {
    /// A request's headers must be complete this long after the connection
    /// opened, or after the previous response on a kept-alive connection.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// Longer request targets are answered 414.
    public var maxURLBytes = 8 * 1024
    /// Bigger header sections (request line included, as the parser counts
    /// them) are answered 431.
    public var maxHeaderBytes = 64 * 1024
    /// Connections from one client IP that are not (yet) an upgraded agent
    /// socket. Trusted proxies are exempt: they carry many clients.
    public var maxConnectionsPerIP = 64

    public init() {}
}
