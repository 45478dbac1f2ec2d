import Foundation
import Logging
import ResticManagerProtocol
import ServiceLifecycle

/// Options of `restic-manager-agent run`.
public struct AgentRunOptions: Sendable {
    public var stateDirectory: String
    public var resticPath: String?
    public var caFile: String?
    public var insecure: Bool
    /// `--restore-to`: the folders restores may write into (none by default).
    public var restoreTo: [String]
    /// False with `--no-hooks`: the agent runs no hook at all.
    public var hooksAllowed: Bool

    public init(
        stateDirectory: String, resticPath: String?, caFile: String?, insecure: Bool, restoreTo: [String] = [],
        hooksAllowed: Bool = true
    ) {
        self.stateDirectory = stateDirectory
        self.resticPath = resticPath
        self.caFile = caFile
        self.insecure = insecure
        self.restoreTo = restoreTo
        self.hooksAllowed = hooksAllowed
    }
}

/// Why the daemon could not start.
public enum AgentRunError: Error, Sendable, CustomStringConvertible {
    case state(AgentStateError)
    case endpoint(ServerEndpointError)
    case caFileUnreadable(String)
    case restoreTargets(RestoreTargetsError)
    case startup(String)

    public var description: String {
        switch self {
        case .state(let error): error.description
        case .endpoint(let error): error.description
        case .caFileUnreadable(let path): "cannot read CA file \(path)"
        case .restoreTargets(let error): error.description
        case .startup(let why): why
        }
    }
}

/// Builds the daemon's parts from the state directory and runs them in one
/// `ServiceGroup` until SIGTERM or SIGINT.
public enum AgentRuntime {
    public static func run(_ options: AgentRunOptions, logger: Logger) async throws(AgentRunError) {
        let restoreTargets: RestoreTargets
        do {
            restoreTargets = try RestoreTargets(resolving: options.restoreTo)
        } catch {
            throw .restoreTargets(error)
        }
        let (store, credential, endpoint) = try await openState(options)
        try await recoverInterruptedJobs(store, logger: logger)
        let installation = await ResticInstallation.locate(configuredPath: options.resticPath)
        let (runner, reporter) = adapters(for: installation, options: options, logger: logger)

        let facts = HostFacts.current()
        let resticVersion = installation?.version ?? ""
        let queue = JobQueue(
            store: store, runner: runner, reporter: reporter, restoreTargets: restoreTargets, logger: logger)
        let schedulesChanged = ChangeSignal()
        let handler = CommandHandler(
            store: store, queue: queue, schedulesChanged: schedulesChanged, restoreTargets: restoreTargets,
            browser: installation.map { SnapshotBrowser(restic: $0, logger: logger) }, logger: logger)
        let hello: @Sendable () async -> HelloPayload = {
            HelloPayload(
                agentVersion: agentVersion, resticVersion: resticVersion, hostname: facts.hostname, os: facts.os,
                arch: facts.arch, bootTime: facts.bootTime, timezone: HostFacts.timezoneIdentifier(),
                activeJobs: (try? await store.activeJobIDs()) ?? [], restoreTargets: restoreTargets.folders,
                hooksAllowed: options.hooksAllowed)
        }
        let connection = AgentConnection(
            endpoint: endpoint, token: credential.agentToken, caFile: options.caFile, store: store, handler: handler,
            hello: hello, logger: logger)
        let scheduler = ScheduleRunner(store: store, queue: queue, schedulesChanged: schedulesChanged, logger: logger)

        logger.info("agent starting", metadata: [
            "version": "\(agentVersion)", "host_id": "\(credential.hostID)", "server": "\(endpoint.baseURL)",
            "state_dir": "\(options.stateDirectory)", "timezone": "\(facts.timezone)",
            "restore_to": "\(restoreTargets.folders.isEmpty ? "(none)" : restoreTargets.folders.joined(separator: ","))",
            "hooks": "\(options.hooksAllowed ? "allowed" : "off (--no-hooks)")",
        ])
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: queue), .init(service: scheduler), .init(service: connection),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            throw .startup("agent stopped: \(error)")
        }
        logger.info("agent stopped")
    }

    /// The state, its credential and the server it points at; refuses to
    /// start without an enrollment or with an unreadable CA file.
    private static func openState(_ options: AgentRunOptions) async throws(AgentRunError)
        -> (AgentStateStore, AgentCredential, ServerEndpoint)
    {
        let result: (AgentStateStore, AgentCredential, ServerEndpoint)
        do {
            let store = try AgentStateStore.open(stateDirectory: options.stateDirectory)
            guard let credential = try await store.credential() else {
                throw AgentStateError.notEnrolled(stateDirectory: options.stateDirectory)
            }
            result = (store, credential, try ServerEndpoint(credential.serverURL, insecure: options.insecure))
        } catch let error as AgentStateError {
            throw .state(error)
        } catch let error as ServerEndpointError {
            throw .endpoint(error)
        } catch {
            throw .startup("\(error)")
        }
        if let caFile = options.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw .caFileUnreadable(caFile)
        }
        return result
    }

    /// Crash recovery (SPEC §5 "Lost jobs"): a job this process did not
    /// start cannot be running.
    private static func recoverInterruptedJobs(_ store: AgentStateStore, logger: Logger) async throws(AgentRunError) {
        do {
            let interrupted = try await store.failInterruptedJobs()
            if !interrupted.isEmpty {
                logger.warning("jobs interrupted by an agent restart marked failed", metadata: [
                    "jobs": "\(interrupted.joined(separator: ","))"
                ])
            }
        } catch {
            throw .startup("cannot recover local job state: \(error)")
        }
    }

    /// restic's runner and reporter, or a runner that fails every job with
    /// a clear error while restic is missing.
    private static func adapters(for installation: ResticInstallation?, options: AgentRunOptions, logger: Logger)
        -> (any JobRunning, (any RepositoryReporting)?)
    {
        guard let installation else {
            logger.error("restic not found; every job will fail until it is installed", metadata: [
                "configured": "\(options.resticPath ?? "(PATH)")"
            ])
            return (MissingResticRunner(configuredPath: options.resticPath), nil)
        }
        logger.info("using restic", metadata: ["path": "\(installation.path)", "version": "\(installation.version)"])
        return ResticAdapters.make(installation, hooksAllowed: options.hooksAllowed, logger: logger)
    }
}
