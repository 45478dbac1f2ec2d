import Foundation
import HummingbirdWebSocket
import Logging
import ResticManagerCore
import ResticManagerProtocol

/// One agent's WebSocket, from `hello` to close (SPEC §4, §6).
///
/// Three concurrent parts share the socket: a reader that decodes frames and
/// answers protocol errors at once, a batcher that commits agent messages in
/// groups and acks them only after commit, and a writer that owns the
/// outbound side. Silence is watched by the server-wide ``AgentPresence``.
struct AgentSession: Sendable {
    let hostID: HostID
    /// The hash of the agent token this socket was opened with.
    let tokenHash: String
    let remoteIP: String
    /// This server's URL as the agent reached it, for package links.
    let publicBaseURL: String
    let services: ServerServices

    /// Messages committed per transaction at most. Smaller batches commit as
    /// soon as the previous transaction is done (see ``IngestQueue``), so no
    /// ack waits for a timer.
    static let batchSize = 512
    static let badMessageLimit = 20
    static let badMessageWindow = Duration.seconds(60)

    private var logger: Logger {
        var logger = services.logger
        logger[metadataKey: "host_id"] = "\(hostID)"
        return logger
    }

    /// Throws what ended the socket abnormally (e.g. a message over 1 MiB in
    /// several frames), so that the WebSocket layer closes with its code (1009).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (outStream, out) = AsyncStream.makeStream(of: AgentOutbound.self)
        let connection = AgentHub.Connection(tokenHash: tokenHash, outbound: out)
        let queue = IngestQueue<Envelope>(capacity: Self.batchSize)
        let lastMessage = ActivityClock()
        let budget = BadMessageBudget(limit: Self.badMessageLimit, window: Self.badMessageWindow)
        logger.info("agent connected", metadata: ["ip": "\(remoteIP)"])
        await services.presence.watch(connection.id, hostID: hostID, clock: lastMessage) {
            await goneSilent(lastMessage: lastMessage, out: out, connection: connection)
        }

        let readError = await withTaskGroup(of: Void.self) { io in
            io.addTask { await write(outStream, to: outbound) }
            io.addTask {
                await ingest(queue, out: out, budget: budget)
                out.finish()
            }
            let readError = await read(
                inbound, into: queue, out: out, connection: connection, lastMessage: lastMessage, budget: budget)
            queue.finish()
            return readError
        }
        await services.presence.unwatch(connection.id)
        if await services.hub.unregister(hostID, connection.id) {
            try? await services.database.markDisconnected(
                hostID: hostID, lastSeenAt: lastMessage.lastSeen, replica: services.replica)
            await services.browse.hostDisconnected(hostID)
            services.alerts.poke()
        }
        logger.info("agent disconnected")
        if let readError { throw readError }
    }

    // MARK: Writer

    private func write(_ stream: AsyncStream<AgentOutbound>, to outbound: WebSocketOutboundWriter) async {
        for await item in stream {
            do {
                switch item {
                case .message(let envelope):
                    try await outbound.write(.text(EnvelopeCodec.encode(envelope)))
                case .close(let code, let reason):
                    try await outbound.close(.unknown(code), reason: reason)
                    return
                }
            } catch {
                return
            }
        }
    }

    private func reply(_ out: AsyncStream<AgentOutbound>.Continuation, _ message: Message) {
        out.yield(.message(Envelope(message: message)))
        services.metrics.countOut(1)
    }

    /// Answers a refused message with `error` and counts it; returns true
    /// when that was one too many and the socket must close (4008).
    private func refuse(
        _ error: ErrorPayload, out: AsyncStream<AgentOutbound>.Continuation, budget: BadMessageBudget
    ) -> Bool {
        reply(out, .error(error))
        return budget.spend()
    }

    private func closeForBadMessages(_ out: AsyncStream<AgentOutbound>.Continuation) {
        logger.warning("closing: too many bad messages")
        out.yield(.close(code: CloseCode.tooManyBadMessages, reason: "more than 20 bad messages a minute"))
    }

    // MARK: Reader

    private func read(
        _ inbound: WebSocketInboundStream, into queue: IngestQueue<Envelope>,
        out: AsyncStream<AgentOutbound>.Continuation, connection: AgentHub.Connection, lastMessage: ActivityClock,
        budget: BadMessageBudget
    ) async -> (any Error)? {
        var helloDone = false
        do {
            for try await frame in inbound.messages(maxSize: FrameLimits.maxFrameBytes) {
                lastMessage.touch()
                let envelope: Envelope
                do {
                    guard case .text(let text) = frame else {
                        throw EnvelopeDecodingError.malformedJSON(reason: "binary frames are not part of the protocol")
                    }
                    envelope = try EnvelopeCodec.decode(text)
                    guard envelope.message.type.direction != .serverToAgent else {
                        throw EnvelopeDecodingError.badPayload(
                            type: envelope.message.type, id: envelope.id,
                            reason: "\(envelope.message.type.rawValue) is sent by the server, not by agents")
                    }
                    try AgentMessageLimits.check(envelope)
                } catch let error as EnvelopeDecodingError {
                    if refuse(error.errorPayload, out: out, budget: budget) {
                        closeForBadMessages(out)
                        return nil
                    }
                    continue
                } catch {
                    continue
                }

                if !helloDone {
                    guard case .hello(let hello) = envelope.message else {
                        reply(out, .error(ErrorPayload(code: ErrorCode.badMessage.rawValue,
                                                       message: "the first message must be hello", refID: envelope.id)))
                        out.yield(.close(code: CloseCode.helloExpected, reason: "the first message must be hello"))
                        return nil
                    }
                    guard try await accept(hello, out: out, connection: connection) else { return nil }
                    await services.presence.online(connection.id)
                    helloDone = true
                    continue
                }
                switch envelope.message {
                case .hello:
                    let error = ErrorPayload(
                        code: ErrorCode.badMessage.rawValue, message: "hello was already received on this connection",
                        refID: envelope.id)
                    if refuse(error, out: out, budget: budget) {
                        closeForBadMessages(out)
                        return nil
                    }
                case .heartbeat:
                    // Its only effect, the last-seen time, is the clock touched above.
                    break
                case .snapshotLsResult(let result):
                    // An answer, not an event: nothing to store or ack.
                    await services.browse.deliver(result, from: hostID)
                case .error(let payload):
                    logger.warning("agent reported an error", metadata: [
                        "code": "\(payload.code.prefix(64))", "message": "\(payload.message.prefix(256))",
                        "ref_id": "\(payload.refID?.prefix(64) ?? "")",
                    ])
                    await queue.append(envelope)
                default:
                    await queue.append(envelope)
                }
            }
        } catch {
            logger.debug("agent socket ended", metadata: ["error": "\(error)"])
            return error
        }
        return nil
    }

    /// Applies `hello`: checks the version, records the host, sends the
    /// `config.update` → `schedule.set` burst before anything else, then
    /// registers the socket and dispatches what waited for it.
    private func accept(
        _ hello: HelloPayload, out: AsyncStream<AgentOutbound>.Continuation, connection: AgentHub.Connection
    ) async throws -> Bool {
        guard hello.protocolVersion == ProtocolVersion.current else {
            reply(out, .error(ErrorPayload(
                code: ErrorCode.protocolVersionUnsupported.rawValue,
                message: "protocol_version \(hello.protocolVersion) is not supported; this server speaks \(ProtocolVersion.current)",
                refID: nil)))
            out.yield(.close(code: CloseCode.protocolVersionUnsupported, reason: "unsupported protocol version"))
            return false
        }
        // Registered first, so a dying older socket of this host can no
        // longer mark it offline after this hello marks it online. Pushes
        // made from now on are held until the burst below is out.
        await services.hub.register(hostID, connection)
        try await services.database.recordHello(
            hostID: hostID, hello: hello, ip: remoteIP, replica: services.replica,
            leaseUntil: Date().addingTimeInterval(AgentPresence.leaseDuration.timeInterval))
        // Nothing reaches this connection before `activate`, so no job it
        // accepts can be taken for one the agent lost.
        if let active = hello.activeJobs {
            let orphaned = try await services.database.failOrphanedJobs(hostID: hostID, activeJobIDs: Set(active))
            if !orphaned.isEmpty {
                logger.warning("jobs lost by a restarted agent marked failed", metadata: ["jobs": "\(orphaned)"])
                await services.jobEvents.notify(orphaned)
                services.delivery.poke()
            }
        }
        reply(out, .configUpdate(try await services.hub.configUpdate(hostID: hostID)))
        let schedules = try await services.hub.scheduleSet(hostID: hostID)
        reply(out, .scheduleSet(schedules))
        // SPEC §13: informational; the agent never updates itself.
        if let update = services.packages.update(forAgentVersion: hello.agentVersion, arch: hello.arch) {
            reply(out, .agentUpdateAvailable(AgentUpdateAvailablePayload(
                latestVersion: update.version.description,
                packageURL: PackageController.url(of: update, baseURL: publicBaseURL))))
        }
        await services.hub.activate(hostID, connection, sentScheduleVersion: schedules.version)
        await services.hub.dispatchQueuedJobs(hostID: hostID)
        services.alerts.poke()
        return true
    }

    // MARK: Batcher

    private func ingest(
        _ queue: IngestQueue<Envelope>, out: AsyncStream<AgentOutbound>.Continuation, budget: BadMessageBudget
    ) async {
        while let batch = await queue.next(upTo: Self.batchSize) {
            do {
                let started = ContinuousClock.now
                let report = try await services.database.ingest(hostID: hostID, envelopes: batch)
                services.metrics.recordIngest(ContinuousClock.now - started)
                for job in report.finishedJobs {
                    services.metrics.recordFinishedJob(
                        kind: job.kind.rawValue,
                        seconds: (job.finishedAt ?? Date()).timeIntervalSince(job.startedAt ?? job.finishedAt ?? Date()),
                        bytesAdded: job.stats.flatMap(JSONValue.parse)?["data_added"]?.int64Value)
                }
                var acked: [String] = []
                var overBudget = false
                for (id, outcome) in report.outcomes {
                    switch outcome {
                    case .applied, .duplicate:
                        acked.append(id)
                    case .refused(let code, let reason):
                        logger.notice("refused agent message", metadata: ["ref_id": "\(id.prefix(64))", "reason": "\(reason)"])
                        // Store-side refusals (a job of another host) count
                        // like decoding errors: a forger is closed just the same.
                        let error = ErrorPayload(code: code.rawValue, message: reason, refID: id)
                        if refuse(error, out: out, budget: budget) { overBudget = true }
                    }
                }
                if !acked.isEmpty { reply(out, .ack(AckPayload(ids: acked))) }
                let logLines = batch.count(where: { if case .logStream = $0.message { true } else { false } })
                services.metrics.countIn(batch.count, logLines: logLines)
                await services.jobEvents.notify(report.touchedJobs)
                if report.changedAlertFacts { services.alerts.poke() }
                if report.wroteNotifications { services.delivery.poke() }
                if overBudget {
                    closeForBadMessages(out)
                    queue.finish()
                    return
                }
            } catch {
                // Nothing was acked: closing makes the agent reconnect and
                // replay its outbox once the store is back.
                logger.error("could not commit agent messages", metadata: ["error": "\(error)"])
                out.yield(.close(code: CloseCode.storeUnavailable, reason: "server could not store messages; replay later"))
                queue.finish()
                return
            }
        }
    }

    // MARK: Silence

    /// Called by ``AgentPresence`` once the agent was silent past the threshold.
    private func goneSilent(
        lastMessage: ActivityClock, out: AsyncStream<AgentOutbound>.Continuation, connection: AgentHub.Connection
    ) async {
        let limit = services.settings.agentOfflineAfter
        logger.warning("agent silent; marking offline", metadata: ["silence_s": "\(lastMessage.silence.components.seconds)"])
        if await services.hub.unregister(hostID, connection.id) {
            try? await services.database.markDisconnected(
                hostID: hostID, lastSeenAt: lastMessage.lastSeen, replica: services.replica)
            services.alerts.poke()
        }
        out.yield(.close(code: CloseCode.silent, reason: "no message for \(limit.components.seconds) s"))
    }
}
