import AsyncAlgorithms
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOSSL
import ResticManagerProtocol
import ServiceLifecycle


/// What the connection hands to the rest of the agent: every server →
/// agent message except `ack` and `error`, which it handles itself.
public protocol ServerMessageHandling: Sendable {
    func handle(_ envelope: Envelope) async
    /// A frame that did not decode. Returns true when the handler answered
    /// it itself (a `command.run` of an unknown kind is refused with
    /// `command.result`), false to let the connection answer `error`.
    func handleUndecodable(_ text: String, error: EnvelopeDecodingError) async -> Bool
    /// Answers a browse request (`snapshot.ls`). Called concurrently, beside
    /// the reader: a slow listing must not hold up other messages.
    func answer(_ request: SnapshotLsRequest) async -> SnapshotLsResult
}

/// The agent's link to the server (SPEC §4): a WebSocket to
/// `/api/v1/agent/ws`, re-dialled with back-off for as long as the agent
/// runs. On every connection it says `hello`, replays the outbox in order,
/// then keeps sending new outbox entries and heartbeats.
public struct AgentConnection: Service {
    public static let heartbeatInterval = Duration.seconds(30)
    /// A connection that lasted this long resets the back-off even if the
    /// server never answered hello (it was reachable and accepted us).
    static let healthyAfter = Duration.seconds(30)

    let endpoint: ServerEndpoint
    let token: String
    let caFile: String?
    let tlsConfiguration: TLSConfiguration?
    let store: AgentStateStore
    let handler: any ServerMessageHandling
    let hello: @Sendable () async -> HelloPayload
    let logger: Logger

    public init(
        endpoint: ServerEndpoint, token: String, caFile: String?, store: AgentStateStore,
        handler: any ServerMessageHandling, hello: @escaping @Sendable () async -> HelloPayload, logger: Logger
    ) {
        self.endpoint = endpoint
        self.token = token
        self.caFile = caFile
        self.tlsConfiguration = endpoint.usesTLS ? ServerHTTPClient.tls(caFile: caFile) : nil
        self.store = store
        self.handler = handler
        self.hello = hello
        self.logger = logger
    }

    /// How one connection attempt ended.
    enum Ending: Sendable {
        /// The server answered hello; the back-off starts over.
        case healthy(String)
        case failed(String)
        /// HTTP 401 before the upgrade.
        case unauthorized
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = ReconnectBackoff()
            while !Task.isCancelled {
                await record(.connecting, error: nil)
                let ending = await connectOnce()
                guard !Task.isCancelled else { break }
                let delay: Duration
                switch ending {
                case .healthy(let reason):
                    backoff.reset()
                    delay = backoff.nextDelay()
                    logger.info("disconnected from server; reconnecting", metadata: [
                        "reason": "\(reason)", "delay_ms": "\(delay.milliseconds)",
                    ])
                    await record(.disconnected, error: reason)
                case .failed(let reason):
                    delay = backoff.nextDelay()
                    logger.warning("cannot reach server; retrying", metadata: [
                        "url": "\(endpoint.webSocketURL)", "reason": "\(reason)", "delay_ms": "\(delay.milliseconds)",
                    ])
                    await record(.disconnected, error: reason)
                case .unauthorized:
                    // Retrying quickly cannot help; an admin must act.
                    delay = max(backoff.nextDelay(), .seconds(60))
                    logger.error("agent token rejected; re-enroll", metadata: [
                        "server": "\(endpoint.baseURL)", "retry_in_s": "\(delay.components.seconds)",
                    ])
                    await record(.unauthorized, error: "agent token rejected (HTTP 401); re-enroll this agent")
                }
                try? await Task.sleep(for: delay)
            }
        }
        await record(.stopped, error: nil)
    }

    private func record(_ state: ConnectionRecord.State, error: String?) async {
        let previous = try? await store.connectionRecord()
        let now = Date()
        let record = ConnectionRecord(
            state: state, changedAt: now,
            lastConnectedAt: state == .connected ? now : previous?.lastConnectedAt, lastError: error,
            pid: state == .stopped ? nil : ProcessLiveness.currentPID)
        do {
            try await store.saveConnectionRecord(record)
        } catch {
            logger.debug("could not record connection state", metadata: ["error": "\(error)"])
        }
    }

    private func connectOnce() async -> Ending {
        // Pings find a dead server (half-open TCP) that our heartbeats, which
        // are never answered, would not: an unanswered ping closes the socket.
        var configuration = WebSocketClientConfiguration(
            maxFrameSize: FrameLimits.maxFrameBytes, autoPing: .enabled(timePeriod: Self.heartbeatInterval))
        configuration.additionalHeaders[.authorization] = "Bearer \(token)"
        let session = ConnectionSession(store: store, handler: handler, logger: logger)
        let started = ContinuousClock.now
        do {
            let close = try await WebSocketClient.connect(
                url: endpoint.webSocketURL, configuration: configuration, tlsConfiguration: tlsConfiguration,
                logger: logger
            ) { inbound, outbound, _ in
                await record(.connected, error: nil)
                logger.info("connected to server", metadata: ["url": "\(endpoint.webSocketURL)"])
                // Built now, so active_jobs is as fresh as it can be.
                try await session.run(inbound: inbound, outbound: outbound, hello: await hello())
            }
            let reason = close.map { "closed by server (\($0.closeCode)\($0.reason.map { ": \($0)" } ?? ""))" }
                ?? "connection closed"
            if await session.helloAnswered || ContinuousClock.now - started > Self.healthyAfter {
                return .healthy(reason)
            }
            return .failed(reason)
        } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
            if await probeUnauthorized() { return .unauthorized }
            return .failed("WebSocket upgrade refused by \(endpoint.baseURL)")
        } catch {
            if await session.helloAnswered { return .healthy("\(error)") }
            return .failed("\(error)")
        }
    }

    /// The WebSocket client does not expose the refused upgrade's status;
    /// a plain GET with the same token shows whether it was 401.
    private func probeUnauthorized() async -> Bool {
        let response = try? await ServerHTTPClient(endpoint: endpoint, caFile: caFile)
            .request(.GET, "/agent/ws", headers: [("Authorization", "Bearer \(token)")], timeout: .seconds(15))
        return response?.status == 401
    }
}

// ServiceLifecycle logs services by description: never the token.
extension AgentConnection: CustomStringConvertible {
    public var description: String { "AgentConnection(\(endpoint.webSocketURL))" }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

/// One live connection: a single writer owns the socket's outbound side;
/// the outbox sender, the heartbeat and the reader feed it.
actor ConnectionSession {
    let store: AgentStateStore
    let handler: any ServerMessageHandling
    let logger: Logger
    private(set) var helloAnswered = false

    init(store: AgentStateStore, handler: any ServerMessageHandling, logger: Logger) {
        self.store = store
        self.handler = handler
        self.logger = logger
    }

    private func markHelloAnswered() { helloAnswered = true }

    nonisolated func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, hello: HelloPayload
    ) async throws {
        let frames = AsyncChannel<String>()
        // Subscribe before hello so no outbox change between the replay's
        // first read and the subscription is missed.
        let wakeups = store.outboxSignal.subscribe()
        try await outbound.write(.text(EnvelopeCodec.encode(Envelope(message: .hello(hello)))))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in frames {
                    try await outbound.write(.text(frame))
                }
            }
            group.addTask { try await self.sendOutbox(into: frames, wakeups: wakeups) }
            group.addTask {
                while true {
                    try await Task.sleep(for: AgentConnection.heartbeatInterval)
                    await frames.send(EnvelopeCodec.encode(Envelope(message: .heartbeat(HeartbeatPayload()))))
                }
            }
            defer { group.cancelAll() }
            try await self.read(inbound, replies: frames)
        }
    }

    /// Sends every outbox entry in order — first the backlog (replay), then
    /// whatever is added — each exactly once per connection. Entries stay
    /// in the outbox until acked; the next connection replays them.
    private nonisolated func sendOutbox(into frames: AsyncChannel<String>, wakeups: AsyncStream<Void>) async throws {
        var lastSent: Int64 = 0
        var replayed = false
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let entries = try await store.outbox(after: lastSent, limit: 256)
            if entries.isEmpty {
                if !replayed {
                    replayed = true
                    if lastSent > 0 { logger.info("outbox replayed", metadata: ["last_seq": "\(lastSent)"]) }
                }
                guard await iterator.next() != nil else { return }
                continue
            }
            for entry in entries {
                await frames.send(entry.frame)
                lastSent = entry.seq
            }
        }
    }

    /// Reads until the socket ends. Browse requests are answered by child
    /// tasks straight onto the socket (not through the outbox); they are
    /// cancelled with the connection.
    private nonisolated func read(_ inbound: WebSocketInboundStream, replies: AsyncChannel<String>) async throws {
        try await withThrowingDiscardingTaskGroup { browses in
            defer { browses.cancelAll() }
            try await read(inbound, replies: replies, browses: &browses)
        }
    }

    private nonisolated func read(
        _ inbound: WebSocketInboundStream, replies: AsyncChannel<String>, browses: inout ThrowingDiscardingTaskGroup<any Error>
    ) async throws {
        for try await message in inbound.messages(maxSize: FrameLimits.maxFrameBytes) {
            guard case .text(let text) = message else {
                await replies.send(errorFrame(.badMessage, "binary frames are not part of the protocol", refID: nil))
                continue
            }
            let envelope: Envelope
            do {
                envelope = try EnvelopeCodec.decode(text)
            } catch {
                logger.warning("undecodable message from server", metadata: ["error": "\(error)"])
                if await !handler.handleUndecodable(text, error: error) {
                    await replies.send(EnvelopeCodec.encode(Envelope(message: .error(error.errorPayload))))
                }
                continue
            }
            switch envelope.message {
            case .ack(let ack):
                do {
                    try await store.acknowledge(ids: ack.ids)
                } catch {
                    logger.error("could not remove acked messages from the outbox", metadata: ["error": "\(error)"])
                }
            case .error(let payload):
                await handleError(payload)
            case .scheduleSet:
                await handler.handle(envelope)
                await markHelloAnswered()
            case .snapshotLs(let request):
                let handler = self.handler
                browses.addTask {
                    let result = await handler.answer(request)
                    await replies.send(EnvelopeCodec.encode(Envelope(message: .snapshotLsResult(result))))
                }
            default:
                if envelope.message.type.direction == .agentToServer {
                    await replies.send(errorFrame(
                        .badMessage, "\(envelope.message.type.rawValue) is sent by agents, not servers",
                        refID: envelope.id))
                    continue
                }
                await handler.handle(envelope)
            }
        }
    }

    private nonisolated func handleError(_ payload: ErrorPayload) async {
        var metadata: Logger.Metadata = ["code": "\(payload.code)", "message": "\(payload.message)"]
        if let refID = payload.refID, !refID.isEmpty {
            metadata["ref_id"] = "\(refID)"
            // A message the server refuses for good must not be replayed forever.
            if let dropped = try? await store.dropRefused(id: refID) {
                metadata["dropped_type"] = "\(dropped.type.rawValue)"
                logger.error("server refused a message; dropped it from the outbox", metadata: metadata)
                return
            }
        }
        logger.warning("server reported an error", metadata: metadata)
    }

    private nonisolated func errorFrame(_ code: ErrorCode, _ message: String, refID: String?) -> String {
        EnvelopeCodec.encode(Envelope(message: .error(ErrorPayload(code: code, message: message, refID: refID))))
    }
}
