import AsyncAlgorithms
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ResticManagerCrypto
import ResticManagerProtocol
import ServiceLifecycle

/// Everything `serve` needs to know.
public struct ServeOptions: Sendable {
    public var store: StoreLocation
    public var host: String
    public var port: Int
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    public var settings: ServerSettings

    public init(store: StoreLocation, host: String, port: Int, tlsCertificatePath: String?, tlsKeyPath: String?,
                settings: ServerSettings) {
        self.store = store
        self.host = host
        self.port = port
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.settings = settings
    }
}

/// The version this build reports: the release version (one place for both binaries).
public let serverVersion = releaseVersion

/// Builds the server of `serve` from its data dir and database: opens (or
/// creates) the key in the data dir, and the database there or in PostgreSQL.
public func buildApplication(
    _ options: ServeOptions, logger: Logger, onFirstAdminPassword: @Sendable (String) -> Void
) async throws -> some ApplicationProtocol {
    // Each connection holds a descriptor: the soft limit of 1,024 many
    // systems start with ran out under 1,100 silent sockets (#14 item 1).
    if let limit = FileDescriptorLimit.raiseToHard() {
        logger.notice("open file limit", metadata: [
            "soft": "\(limit.now)", "hard": "\(limit.hard)", "was": "\(limit.was)",
        ])
    }
    let dataDir = try DataDirectory(path: options.store.dataDirectory)
    if let mode = dataDir.tightenedFrom {
        logger.warning("the data dir was open to other users; made it private (0700)", metadata: [
            "path": "\(dataDir.path)", "was": "\(String(mode, radix: 8))",
        ])
    }
    let key = try dataDir.loadOrCreateKey()
    if key.created { logger.notice("created a new secret key", metadata: ["path": "\(dataDir.keyPath)"]) }
    let database = try await dataDir.openStore(postgres: options.store.postgres, logger: logger)
    if let postgres = options.store.postgres {
        logger.notice("using PostgreSQL", metadata: ["database": "\(postgres)"])
    }
    try await RetentionService.enableIncrementalVacuum(database, logger: logger)
    return try await buildApplication(
        options, database: database, key: key.key, logger: logger, onFirstAdminPassword: onFirstAdminPassword)
}

/// Builds the whole server — hub, routes and background services — on the
/// given store and key. `serve` reaches it through the data dir; tests
/// inject an in-memory store and boot the app in-process.
public func buildApplication(
    _ options: ServeOptions, database: AppDatabase, key: SecretKey, logger: Logger,
    onFirstAdminPassword: @Sendable (String) -> Void
) async throws -> some ApplicationProtocol {
    let secretBox = SecretBox(key: key)
    guard try await database.keyMatchesSeal(secretBox) else { throw ServerStartError.keyMismatch }
    let replica = ReplicaID.random()
    // The only server has no agent yet; replicas sharing the store leave
    // the others' hosts to their leases (``AgentPresence``).
    if !database.isShared { try await database.markAllDisconnected() }

    let metrics = ServerMetrics()
    var tls = TLSConfiguration.makeClientConfiguration()
    if let caFile = options.settings.notifyCAFile {
        do {
            tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
        } catch {
            throw ServerStartError.notifyCAFile(path: caFile, reason: "\(error)")
        }
    }
    let delivery = NotificationDelivery(
        database: database, secretBox: secretBox, tlsConfiguration: tls, baseURL: options.settings.baseURL,
        logger: logger)
    let signals = ReplicaSignals(database: database, replica: replica, logger: logger)
    let alerts = AlertEvaluator(
        database: database, interval: options.settings.alertInterval,
        lease: FleetLease(database: database, work: .alertEvaluation, replica: replica,
                          duration: max(options.settings.alertInterval * 3, .seconds(30))),
        signals: signals, logger: logger
    ) {
        delivery.poke()
    }
    let hub = AgentHub(database: database, secretBox: secretBox, metrics: metrics, signals: signals, logger: logger)
    let jobEvents = JobEventBroadcaster(signals: signals)
    let presence = AgentPresence(
        database: database, replica: replica, offlineAfter: options.settings.agentOfflineAfter,
        flushInterval: options.settings.lastSeenFlushInterval, logger: logger)
    let loginThrottle = LoginThrottle(database: database, policy: options.settings.loginPolicy)
    let services = ServerServices(
        settings: options.settings, replica: replica, database: database, secretBox: secretBox,
        passwords: PasswordService(hasher: PasswordHasher(parameters: options.settings.passwordParameters),
                                   threadPool: .singleton),
        loginThrottle: loginThrottle,
        hub: hub, presence: presence, browse: SnapshotBrowseRequests(hub: hub),
        jobEvents: jobEvents, metrics: metrics, alerts: alerts, delivery: delivery,
        packages: AgentPackageCatalog.load(directory: options.settings.packagesDirectory, logger: logger), logger: logger)

    if try await database.userCount() == 0 {
        let password = FirstAdmin.randomPassword()
        do {
            _ = try await database.createUser(
                username: "admin", passwordHash: try await services.passwords.hash(password), role: .admin, by: .system)
            onFirstAdminPassword(password)
        } catch StoreError.conflict {
            // A replica starting at the same time on the same empty store
            // made the admin first, and printed its password.
            logger.notice("another replica created the first admin")
        }
    }

    let catalog = RouteCatalog()
    let templates: WebTemplates
    do {
        templates = try WebTemplates()
    } catch {
        throw ServerStartError.webTemplates("\(error)")
    }
    let router = buildRouter(services, catalog: catalog, templates: templates)
    let agentRouter = buildAgentRouter(services)

    let server = try httpServer(options, agentRouter: agentRouter)
    let scheme = options.tlsCertificatePath == nil ? "http" : "https"
    return Application(
        router: router, server: server,
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "restic-manager"),
        services: [
            MaintenanceService(database: database, loginThrottle: loginThrottle, logger: logger),
            alerts, delivery, presence, signals,
            ReplicaSignalDispatch(signals: signals, hub: hub, jobEvents: jobEvents, alerts: alerts),
            RetentionService(database: database, retention: options.settings.logRetention,
                             interval: options.settings.retentionInterval,
                             lease: FleetLease(database: database, work: .retention, replica: replica,
                                               duration: options.settings.retentionInterval * 2),
                             logger: logger),
        ],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? options.port
            logger.notice("listening", metadata: ["url": "\(scheme)://\(options.host):\(port)"])
        },
        logger: logger)
}

/// HTTP/1.1 with the agent WebSocket upgrade, TLS when configured, inside
/// the connection limits (``GuardedChannel``).
func httpServer(_ options: ServeOptions, agentRouter: Router<AgentSocketContext>) throws -> HTTPServerBuilder {
    let limits = options.settings.connectionLimits
    let admission = ConnectionAdmission(limit: limits.maxConnectionsPerIP, exempt: options.settings.trustedProxies)
    // Hummingbird's idle timeout runs from each response's end to the next
    // request head, so later requests get the same deadline as the first.
    var http1 = HTTP1Channel.Configuration(idleTimeout: TimeAmount(limits.requestHeadTimeout))
    http1.httpDecoder = .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes)
    let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: http1,
        // RFC 6455: a text frame that is not UTF-8 closes the socket with 1007.
        // No server pings: the agent pings the server itself, and a silent
        // agent is found by its missing heartbeats (``AgentPresence``), so
        // pings would only cost a timer and a round trip per socket.
        ws: .init(maxFrameSize: FrameLimits.maxFrameBytes, autoPing: .disabled, validateUTF8: true))
    var tls: TLSConfiguration?
    if let certificate = options.tlsCertificatePath, let keyPath = options.tlsKeyPath {
        tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
    }
    let agentResponder = agentRouter.buildResponder()
    return HTTPServerBuilder { [tls] responder in
        let http = HTTP1WebSocketUpgradeChannel(
            responder: responder, webSocketResponder: agentResponder, configuration: configuration)
        guard let tls else { return GuardedChannel(base: http, limits: limits, admission: admission) }
        return GuardedChannel(base: try TLSChannel(http, tlsConfiguration: tls), limits: limits, admission: admission)
    }
}

func buildRouter(_ services: ServerServices, catalog: RouteCatalog, templates: WebTemplates) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ClientAddressMiddleware(trustedProxies: services.settings.trustedProxies))
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMappingMiddleware(templates: templates, logger: services.logger))
    router.add(middleware: UnservedMethodMiddleware())
    router.add(middleware: AuthenticationMiddleware(database: services.database))

    let api = router.group("api/v1")
    AuthController(services: services).addPublicRoutes(to: api, catalog: catalog)
    EnrollmentController(services: services).addPublicRoutes(to: api, catalog: catalog)
    // Plain GETs of the socket path land here when the upgrade did not
    // happen: answer 401 for bad credentials, 426 otherwise.
    api.route(.get, "/agent/ws", catalog: catalog, summary: "Agent WebSocket (protocol v1)", access: .agentToken) {
        request, _ -> Response in
        guard let token = request.headers.bearerToken, Tokens.kind(of: token) == .agent,
            try await services.database.host(agentTokenHash: Tokens.hash(token)) != nil
        else { throw APIError(status: .unauthorized, code: "unauthenticated", message: "missing, wrong or revoked agent token") }
        throw APIError(status: .upgradeRequired, code: "upgrade_required", message: "connect with a WebSocket upgrade")
    }

    let user = api.group(context: AuthenticatedContext.self)
    AuthController(services: services).addRoutes(to: user, catalog: catalog)
    UserController(services: services).addRoutes(to: user, catalog: catalog)
    APITokenController(services: services).addRoutes(to: user, catalog: catalog)
    EnrollmentController(services: services).addRoutes(to: user, catalog: catalog)
    HostController(services: services).addRoutes(to: user, catalog: catalog)
    SnapshotBrowseController(services: services).addRoutes(to: user, catalog: catalog)
    ScheduleController(services: services).addRoutes(to: user, catalog: catalog)
    JobController(services: services).addRoutes(to: user, catalog: catalog)
    AlertController(services: services).addRoutes(to: user, catalog: catalog)
    NotificationChannelController(services: services).addRoutes(to: user, catalog: catalog)
    PackageController(services: services).addPublicRoutes(to: router, catalog: catalog)
    let system = SystemController(services: services)
    system.addRoutes(to: user, catalog: catalog)
    system.addPublicRoutes(to: router, catalog: catalog)
    system.addOpenAPIRoute(to: router, catalog: catalog)
    WebUI(services: services, templates: templates).addRoutes(to: router)
    return router
}

func buildAgentRouter(_ services: ServerServices) -> Router<AgentSocketContext> {
    let router = Router(context: AgentSocketContext.self)
    router.add(middleware: ClientAddressMiddleware(trustedProxies: services.settings.trustedProxies))
    router.add(middleware: AgentTokenMiddleware(database: services.database))
    router.ws("/api/v1/agent/ws") { _, context in
        // Anything but a valid agent token declines the upgrade with 401.
        guard context.hostID != nil else {
            await AgentUpgradeRefusalHandler.install(on: context.channel)
            return .dontUpgrade
        }
        return .upgrade([:])
    } onUpgrade: { inbound, outbound, context in
        guard let hostID = context.requestContext.hostID, let tokenHash = context.requestContext.agentTokenHash else {
            return
        }
        let session = AgentSession(
            hostID: hostID, tokenHash: tokenHash, remoteIP: context.requestContext.remoteIP,
            publicBaseURL: services.settings.publicBaseURL(for: context.request), services: services)
        try await session.run(inbound: inbound, outbound: outbound)
    }
    return router
}

/// Resolves the agent token of an upgrade request to its host, once per
/// connection, before the upgrade is decided.
struct AgentTokenMiddleware: RouterMiddleware {
    typealias Context = AgentSocketContext
    let database: AppDatabase

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        if let token = request.headers.bearerToken, Tokens.kind(of: token) == .agent {
            let hash = Tokens.hash(token)
            context.hostID = try await database.host(agentTokenHash: hash)?.id
            context.agentTokenHash = hash
        }
        return try await next(request, context)
    }
}

/// Turns store and unexpected errors into API answers; unexpected ones are
/// logged and answered with a generic 500 that leaks nothing. A path outside
/// the API that matches no route gets the web UI's HTML 404 page.
struct ErrorMappingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let templates: WebTemplates
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as StoreError {
            throw APIError(error)
        } catch let error as any HTTPResponseError {
            if error.status == .notFound, !(error is APIError) {
                if !AuthenticationMiddleware.isAPI(AuthenticationMiddleware.routedPath(request.uri.path)) {
                    return WebPageMiddleware.errorPage(error, request: request, principal: nil, templates: templates,
                                                       logger: logger)
                }
                throw APIError(status: .notFound, code: "not_found", message: "no route for \(request.method) \(request.uri.path)")
            }
            if error.status == .contentTooLarge, !(error is APIError) {
                throw APIError(status: .contentTooLarge, code: "too_large", message: "request body is too large")
            }
            throw error
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            throw APIError(status: .internalServerError, code: "internal", message: "internal error; see the server log")
        }
    }
}

/// Periodic housekeeping: expire queued jobs of hosts that stayed offline,
/// forget old processed-message ids and the login failures the throttle's
/// window no longer covers.
struct MaintenanceService: Service {
    let database: AppDatabase
    let loginThrottle: LoginThrottle
    let logger: Logger
    var interval: Duration = .seconds(60)

    func run() async throws {
        try await runOnce()
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            try await runOnce()
        }
    }

    private func runOnce() async throws {
        do {
            let expired = try await database.expireQueuedJobs()
            if expired > 0 { logger.notice("expired queued jobs", metadata: ["count": "\(expired)"]) }
            try await database.pruneProcessedMessages(olderThan: .seconds(30 * 24 * 3600))
            try await loginThrottle.forgetExpired()
        } catch {
            logger.error("maintenance failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Where the server keeps what must be backed up: the database and the key.
struct DataDirectory {
    let path: String
    var keyPath: String { path + "/secret.key" }
    var databasePath: String { Self.databasePath(in: path) }

    static func databasePath(in directory: String) -> String { directory + "/restic-manager.sqlite" }

    /// The data dir's mode when it was found open to other users, before it
    /// was made private; nil when it already was.
    private(set) var tightenedFrom: Int?

    init(path: String) throws {
        self.path = path
        let manager = FileManager.default
        do {
            try manager.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // It holds password hashes, the audit log and the key: whatever
            // the umask or whoever made it, only the server's user may enter.
            let mode = (try manager.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o700
            if mode & 0o077 != 0 {
                try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
                tightenedFrom = mode
            }
        } catch {
            throw ServerStartError.dataDirectory(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Opens the database with files only the server's user can read,
    /// whatever the umask: new files are created under umask 077 and
    /// existing ones (database, WAL, shared memory) are set to 0600.
    func openDatabase() throws -> AppDatabase {
        let oldMask = umask(0o077)
        defer { umask(oldMask) }
        let database = try AppDatabase.open(path: databasePath)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: databasePath + suffix) {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: databasePath + suffix)
        }
        return database
    }

    func loadOrCreateKey() throws -> (key: SecretKey, created: Bool) {
        do {
            return try SecretKey.loadOrCreate(at: keyPath)
        } catch {
            throw ServerStartError.secretKey(error.description)
        }
    }
}

/// Why the server could not start, said so the operator can fix it.
public enum ServerStartError: Error, CustomStringConvertible {
    case dataDirectory(path: String, reason: String)
    case secretKey(String)
    case webTemplates(String)
    case notifyCAFile(path: String, reason: String)
    case database(url: String, reason: String)
    case keyMismatch

    public var description: String {
        switch self {
        case .dataDirectory(let path, let reason):
            "cannot use data dir \(path): \(reason); check that its parent exists and is writable"
        case .secretKey(let reason): reason
        case .webTemplates(let reason): "\(reason); this build is broken, rebuild from a clean checkout"
        case .notifyCAFile(let path, let reason):
            "cannot read --notify-ca-file \(path): \(reason); give a PEM file of CA certificates"
        case .keyMismatch:
            "secret.key in the data dir is not the key this database was sealed with, so the secrets stored in it "
                + "would not open; every replica needs the same secret.key: copy it from a replica that runs on "
                + "this database (or restore the data dir's backup)"
        case .database(let url, let reason):
            "cannot use the database \(url): \(reason); check --database, the password "
                + "(PGPASSWORD or --database-password-file) and that PostgreSQL accepts connections from here"
        }
    }
}

/// The password of the `admin` user made on first start.
enum FirstAdmin {
    static func randomPassword() -> String {
        Tokens.randomValue()
    }
}
