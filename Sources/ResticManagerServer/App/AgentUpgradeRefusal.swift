import NIOCore
import NIOHTTP1

/// Makes a refused agent-socket upgrade answer 401 (SPEC §4.2).
///
/// hummingbird-websocket answers every upgrade its WebSocket router declines
/// with an empty `400` and never consults the HTTP router. The agent route
/// adds this handler to the connection right before it declines for a
/// missing, wrong or revoked token; the handler turns that 400 into 401.
final class AgentUpgradeRefusalHandler: ChannelOutboundHandler, RemovableChannelHandler, Sendable {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), head.status == .badRequest else {
            context.write(data, promise: promise)
            return
        }
        head.status = .unauthorized
        head.headers.replaceOrAdd(name: "WWW-Authenticate", value: "Bearer")
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }

    /// Call before declining the upgrade of `channel` for its credentials.
    static func install(on channel: any Channel) async {
        try? await channel.pipeline.addHandler(AgentUpgradeRefusalHandler()).get()
    }
}
