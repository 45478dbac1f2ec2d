import Foundation
import Logging
import ResticManagerCrypto
import ResticManagerProtocol

/// What the hub asks a connection's writer to do.
enum AgentOutbound: Sendable {
    case message(Envelope)
    case close(code: UInt16, reason: String)
}

/// The registry of connected agents: who is online, and the one place that
/// sends server-initiated messages (config, schedules, commands) to them.
actor AgentHub {
    /// One live socket of a host. Only the newest socket of a host is registered.
    struct Connection: Sendable {
        let id = UUID()
        /// The agent token the socket was opened with: a replaced host's
        /// old socket is told apart from its new one by it.
        let tokenHash: String
        let outbound: AsyncStream<AgentOutbound>.Continuation
    }

    private var connections: [HostID: Connection] = [:]
    /// Jobs already sent on the current connection, so concurrent dispatches
    /// never send the same `command.run` twice on one socket.
    private var dispatched: [HostID: Set<JobID>] = [:]
    /// Messages for a connection that has not sent its hello burst yet: they
    /// follow the burst, never precede it.
    private var held: [UUID: [Message]] = [:]
    /// The newest `schedule.set` version each connection was sent; an older
    /// set built concurrently is dropped rather than sent after a newer one.
    private var sentScheduleVersion: [UUID: Int64] = [:]

    private let database: AppDatabase
    private let secretBox: SecretBox
    private let metrics: ServerMetrics
    /// For hosts whose socket another replica holds.
    private let signals: ReplicaSignals
    private let logger: Logger

    init(database: AppDatabase, secretBox: SecretBox, metrics: ServerMetrics, signals: ReplicaSignals, logger: Logger) {
        self.database = database
        self.signals = signals
        self.secretBox = secretBox
        self.metrics = metrics
        self.logger = logger
    }

    var connectionCount: Int { connections.count }

    func isConnected(_ hostID: HostID) -> Bool { connections[hostID] != nil }

    /// Whether the host's socket is here; if not, another replica sharing
    /// the store may hold it, and is asked to do `signal` instead.
    private func isHere(_ hostID: HostID, else signal: ReplicaSignal) -> Bool {
        if isConnected(hostID) { return true }
        signals.publish(signal)
        return false
    }

    /// What another replica asked for, done if the host's socket is here.
    func applyHere(_ signal: ReplicaSignal) async {
        switch signal {
        case .pushConfig(let hostID): if isConnected(hostID) { await pushConfig(hostID: hostID) }
        case .pushSchedules(let hostID): if isConnected(hostID) { await pushSchedules(hostID: hostID) }
        case .dispatchJobs(let hostID): if isConnected(hostID) { await dispatchQueuedJobs(hostID: hostID) }
        case .cancelJob(let hostID, let jobID): if isConnected(hostID) { cancel(jobID, on: hostID) }
        case .disconnect(let hostID, let reason): await disconnectIfStale(hostID, reason: reason)
        case .jobEvents, .evaluateAlerts: break
        }
    }

    /// Makes `connection` the host's live socket; an older one is closed.
    /// Until `activate`, messages for it are held so that the hello burst
    /// the session sends itself comes first.
    func register(_ hostID: HostID, _ connection: Connection) {
        if let old = connections[hostID] {
            forget(old.id)
            old.outbound.yield(.close(code: CloseCode.replaced, reason: "replaced by a newer connection of this host"))
            old.outbound.finish()
        }
        connections[hostID] = connection
        dispatched[hostID] = []
        held[connection.id] = []
    }

    /// Called once the hello burst is out: sends what was held meanwhile.
    func activate(_ hostID: HostID, _ connection: Connection, sentScheduleVersion version: Int64) {
        sentScheduleVersion[connection.id] = version
        guard let pending = held.removeValue(forKey: connection.id) else { return }
        for message in pending { deliver(message, on: connection) }
    }

    /// Forgets the connection; returns whether it was the host's live one.
    @discardableResult
    func unregister(_ hostID: HostID, _ connectionID: UUID) -> Bool {
        forget(connectionID)
        guard connections[hostID]?.id == connectionID else { return false }
        connections[hostID] = nil
        dispatched[hostID] = nil
        return true
    }

    private func forget(_ connectionID: UUID) {
        held[connectionID] = nil
        sentScheduleVersion[connectionID] = nil
    }

    @discardableResult
    func send(_ message: Message, to hostID: HostID) -> Bool {
        guard let connection = connections[hostID] else { return false }
        if held[connection.id] != nil {
            held[connection.id]?.append(message)
        } else {
            deliver(message, on: connection)
        }
        return true
    }

    private func deliver(_ message: Message, on connection: Connection) {
        if case .scheduleSet(let set) = message {
            guard set.version > sentScheduleVersion[connection.id] ?? .min else { return }
            sentScheduleVersion[connection.id] = set.version
        }
        connection.outbound.yield(.message(Envelope(message: message)))
        metrics.countOut(1)
    }

    /// Closes the host's socket, e.g. after its token was revoked.
    func disconnect(hostID: HostID, reason: String) {
        guard isHere(hostID, else: .disconnect(hostID, reason: reason)),
            let connection = connections.removeValue(forKey: hostID)
        else { return }
        dispatched[hostID] = nil
        forget(connection.id)
        connection.outbound.yield(.close(code: CloseCode.revoked, reason: reason))
        connection.outbound.finish()
    }

    /// A signalled disconnect arrives a moment after the change that asked
    /// for it, when the host's agent may have connected here with its new
    /// token: only a socket whose token is no longer the host's is closed.
    private func disconnectIfStale(_ hostID: HostID, reason: String) async {
        guard let connection = connections[hostID] else { return }
        let current = try? await database.host(id: hostID)
        guard current?.agentTokenHash != connection.tokenHash, connections[hostID]?.id == connection.id else { return }
        disconnect(hostID: hostID, reason: reason)
    }

    func pushConfig(hostID: HostID) async {
        guard isHere(hostID, else: .pushConfig(hostID)) else { return }
        await push(to: hostID, .configUpdate) { .configUpdate(try await configUpdate(hostID: hostID)) }
    }

    func pushSchedules(hostID: HostID) async {
        guard isHere(hostID, else: .pushSchedules(hostID)) else { return }
        await push(to: hostID, .scheduleSet) { .scheduleSet(try await scheduleSet(hostID: hostID)) }
    }

    /// Tells the agent running the job to stop it.
    func cancel(_ jobID: JobID, on hostID: HostID) {
        guard isHere(hostID, else: .cancelJob(hostID, jobID)) else { return }
        send(.commandCancel(CommandCancelPayload(jobID: jobID.rawValue)), to: hostID)
    }

    private func push(to hostID: HostID, _ type: MessageType, _ build: () async throws -> Message) async {
        guard isConnected(hostID) else { return }
        do {
            send(try await build(), to: hostID)
        } catch {
            logger.error("could not build \(type.rawValue)", metadata: ["host_id": "\(hostID)", "error": "\(error)"])
        }
    }

    /// Sends `command.run` for every queued job the agent has not accepted.
    func dispatchQueuedJobs(hostID: HostID) async {
        guard isHere(hostID, else: .dispatchJobs(hostID)) else { return }
        do {
            for job in try await database.jobsToDispatch(hostID: hostID) {
                guard isConnected(hostID), dispatched[hostID]?.contains(job.id) == false else { continue }
                dispatched[hostID]?.insert(job.id)
                send(.commandRun(try await commandRun(for: job)), to: hostID)
                try await database.markDispatched(jobID: job.id)
            }
        } catch {
            logger.error("could not dispatch jobs", metadata: ["host_id": "\(hostID)", "error": "\(error)"])
        }
    }

    /// `command.run` for a queued job. A restore from another host's
    /// repository carries that repository, secrets opened now (for the
    /// socket only; the job row never holds them).
    private func commandRun(for job: JobRecord) async throws -> CommandRunPayload {
        var payload = CommandRunPayload(
            jobID: job.id.rawValue, kind: job.kind, args: job.args, scheduleID: job.scheduleId?.rawValue)
        guard let restore = job.restore else { return payload }
        payload.restore = RestoreRequest(
            snapshotID: restore.snapshotId, include: restore.include, target: restore.target, verify: restore.verify)
        if restore.sourceHostId != job.hostId {
            payload.source = try await repositorySource(of: restore.sourceHostId)
        }
        return payload
    }

    /// Another host's repository with its secrets opened, for a cross-host
    /// restore or browse: for the socket only.
    func repositorySource(of hostID: HostID) async throws -> RepositorySource {
        let config = try await configUpdate(hostID: hostID)
        return RepositorySource(
            repoURL: config.repoURL ?? "", repoUsername: config.repoUsername ?? "",
            repoPassword: config.repoPassword ?? "", repoCredential: config.repoCredential ?? "")
    }

    /// The host's config with its secrets opened, for the socket only.
    func configUpdate(hostID: HostID) async throws -> ConfigUpdatePayload {
        let config = try await database.hostConfig(hostID: hostID)
        func open(_ sealed: [UInt8]?, field: String) throws -> String {
            guard let sealed else { return "" }
            return try secretBox.open(sealed, associatedData: SecretAssociation.hostConfig(hostID, field))
        }
        return ConfigUpdatePayload(
            repoURL: config?.repoURL ?? "",
            repoPassword: try open(config?.repoPasswordSealed, field: "repo_password"),
            repoUsername: config?.repoUsername ?? "",
            repoCredential: try open(config?.repoCredentialSealed, field: "repo_credential"),
            hookShell: config?.hookShell ?? "")
    }

    func scheduleSet(hostID: HostID) async throws -> ScheduleSetPayload {
        let (version, records) = try await database.scheduleSet(hostID: hostID)
        let schedules = try records.map { record in
            Schedule(
                id: record.id.rawValue, kind: record.kind, cronExpr: record.cronExpr, paths: record.paths,
                excludes: record.excludes, tags: record.tags,
                retentionPolicy: try record.retentionPolicy.map { text throws in try RawJSON(text: text) },
                options: try record.options.map { text throws in try RawJSON(text: text) },
                preHook: record.preHook, postHook: record.postHook,
                enabled: record.enabled)
        }
        return ScheduleSetPayload(version: version, schedules: schedules)
    }
}

extension CloseCode {
    /// A newer socket of the same host took over.
    static let replaced: UInt16 = 4000
    /// The host was deleted or re-enrolled; its token no longer works.
    static let revoked: UInt16 = 4001
    /// The first message was not `hello`.
    static let helloExpected: UInt16 = 4003
    /// No message for longer than the offline threshold.
    static let silent: UInt16 = 4004
    /// The server could not commit what the agent sent; reconnect and replay.
    static let storeUnavailable: UInt16 = 1011
}
