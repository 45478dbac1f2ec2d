import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/WebSocket child channel with the connection limits
/// of ``ConnectionLimits`` around it: admission per client IP, the deadline
/// for the first request head and the 414/431 answers (``RequestHeadGuard``).
/// It wraps the TLS channel too, so a silent TLS handshake is timed out the
/// same way.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let base: Base.Value
        let outcome: ConnectionOutcome
        var channel: any Channel { base.channel }
    }

    let base: Base
    let limits: ConnectionLimits
    let admission: ConnectionAdmission

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let ip = channel.remoteAddress?.ipAddress ?? ""
        let ticket = admission.admit(ip)
        let outcome = ConnectionOutcome()
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value -> Value in
            // A failed setup would end the server's accept loop, so a refused
            // connection is set up like any other and closed at once.
            guard let ticket else {
                outcome.closedByGuard = true
                logger.debug("too many connections from one address; closed", metadata: ["ip": "\(ip)"])
                channel.close(promise: nil)
                return Value(base: value, outcome: outcome)
            }
            channel.closeFuture.whenComplete { _ in ticket.release() }
            let pipeline = channel.pipeline.syncOperations
            let sniffer = RequestLineSniffer()
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(sniffer, position: .before(decoder))
            try pipeline.addHandler(RequestHeadGuard(limits: limits, sniffer: sniffer, ticket: ticket, outcome: outcome))
            return Value(base: value, outcome: outcome)
        }
    }

    func handle(value: Value, logger: Logger) async {
        // Hummingbird logs an error for every connection that closes before
        // its first request; for those the guard closed on purpose (an
        // attacker's thousand silent sockets) that would flood the log.
        var logger = logger
        logger.handler = GuardOutcomeLogFilter(wrapping: logger.handler, outcome: value.outcome)
        await base.handle(value: value.base, logger: logger)
    }
}

/// Drops the channel-level log lines of a connection the guard closed.
private struct GuardOutcomeLogFilter: LogHandler {
    var wrapped: any LogHandler
    let outcome: ConnectionOutcome

    init(wrapping handler: any LogHandler, outcome: ConnectionOutcome) {
        wrapped = handler
        self.outcome = outcome
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard !outcome.closedByGuard else { return }
        wrapped.log(event: event)
    }
}
