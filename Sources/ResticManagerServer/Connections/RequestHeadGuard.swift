import NIOCore
import NIOHTTP1
import Synchronization

/// Watches an HTTP connection until its first request head is in (#14
/// item 1):
///
/// - closes it when that head is not complete within the deadline (silent
///   sockets and slowloris); later heads are Hummingbird's idle timeout's;
/// - answers 414 to a request target over the limit, 431 to a header
///   section over the parser's limit and 400 to other parse errors, then
///   closes — without it the first request's parse error was answered by no
///   one and the socket stayed open;
/// - on an agent WebSocket upgrade, hands the connection's admission back
///   (an agent proved who it is) and leaves the pipeline with its sniffer,
///   so the socket lives by the agent rules (heartbeats, 90 s).
///
/// It sits after NIO's upgrade handler, where it sees HTTP parts.
final class RequestHeadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: ConnectionLimits
    private let sniffer: RequestLineSniffer
    private let ticket: AdmissionTicket
    private let outcome: ConnectionOutcome
    private var deadline: Scheduled<Void>?
    private var responseInProgress = false
    /// Set once this guard answered; the rest of the input is dropped.
    private var refused = false

    init(limits: ConnectionLimits, sniffer: RequestLineSniffer, ticket: AdmissionTicket, outcome: ConnectionOutcome) {
        self.limits = limits
        self.sniffer = sniffer
        self.ticket = ticket
        self.outcome = outcome
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armDeadline(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelActive()
    }

    private func armDeadline(context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let timeout = TimeAmount(limits.requestHeadTimeout)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [outcome] in
            // Closed on purpose: not a failure worth an error line per socket.
            outcome.closedByGuard = true
            loopBound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            deadline?.cancel()
            if head.uri.utf8.count > limits.maxURLBytes {
                refuse(context: context, status: .uriTooLong, code: "uri_too_long",
                       message: "the request target is longer than \(limits.maxURLBytes) bytes; shorten the URL")
                return
            }
        case .end:
            // What arrives next starts a request line again.
            sniffer.expectRequestLine()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, !responseInProgress, !refused else {
            context.fireErrorCaught(error)
            return
        }
        // NIO counts the request line into the header limit: an overflow
        // with a request line over the URL limit is that URL's.
        switch parseError {
        case .headerOverflow where sniffer.requestLineLength > limits.maxURLBytes:
            refuse(context: context, status: .uriTooLong, code: "uri_too_long",
                   message: "the request target is longer than \(limits.maxURLBytes) bytes; shorten the URL")
        case .headerOverflow:
            refuse(context: context, status: .requestHeaderFieldsTooLarge, code: "headers_too_large",
                   message: "the request headers are larger than \(limits.maxHeaderBytes) bytes; send fewer or shorter headers")
        default:
            refuse(context: context, status: .badRequest, code: "bad_request",
                   message: "the request is not valid HTTP/1.1 (\(parseError))")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInProgress = true
        case .end: responseInProgress = false
        default: break
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .upgradeComplete = event as? HTTPServerUpgradeEvents {
            deadline?.cancel()
            ticket.release()
            context.fireUserInboundEventTriggered(event)
            // WebSocket frames follow; neither handler can read them.
            context.pipeline.syncOperations.removeHandler(sniffer, promise: nil)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Answers with an API-shaped error and closes the connection.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String) {
        refused = true
        deadline?.cancel()
        outcome.closedByGuard = true
        let body = ByteBuffer(string: #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: [
            "Connection": "close", "Content-Type": "application/json", "Content-Length": "\(body.readableBytes)",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}

/// Sits before the HTTP decoder and measures the current request's first
/// line — the only way to tell a URL from a header when the parser reports
/// an overflow (it may have read past the line end in the same buffer).
final class RequestLineSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Bytes of the request line seen so far (all of it once it ended).
    private(set) var requestLineLength = 0
    private var lineEnded = false

    func expectRequestLine() {
        requestLineLength = 0
        lineEnded = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !lineEnded {
            let bytes = unwrapInboundIn(data).readableBytesView
            if let end = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                requestLineLength += end - bytes.startIndex
                lineEnded = true
            } else {
                requestLineLength += bytes.count
            }
        }
        context.fireChannelRead(data)
    }
}

/// Whether the guard closed a connection on purpose (deadline, limit,
/// refusal). Read from Hummingbird's task when it logs the connection's end.
final class ConnectionOutcome: Sendable {
    private let closed = Atomic<Bool>(false)

    var closedByGuard: Bool {
        get { closed.load(ordering: .relaxed) }
        set { closed.store(newValue, ordering: .relaxed) }
    }
}
