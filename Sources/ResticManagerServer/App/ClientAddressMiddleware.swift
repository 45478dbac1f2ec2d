import Hummingbird

/// A request context that carries the client's address.
protocol ClientAddressed {
    var remoteIP: String { get set }
}

extension AppRequestContext: ClientAddressed {}
extension AgentSocketContext: ClientAddressed {}

/// Replaces the peer address with the client's when the peer is a trusted
/// proxy (`--trusted-proxy`), before anything uses it: login throttling,
/// sessions, the audit log and the agent's recorded IP.
struct ClientAddressMiddleware<Context: RequestContext & ClientAddressed>: RouterMiddleware {
    let trustedProxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard !trustedProxies.networks.isEmpty else { return try await next(request, context) }
        var context = context
        context.remoteIP = trustedProxies.clientIP(
            peer: context.remoteIP, forwardedFor: request.headers[values: .init("X-Forwarded-For")!])
        return try await next(request, context)
    }
}
