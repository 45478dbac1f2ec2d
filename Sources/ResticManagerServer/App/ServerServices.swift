import Foundation
import Logging
import ResticManagerCrypto

/// Settings an operator chooses at `serve`.
public struct ServerSettings: Sendable {
    /// The URL agents use to reach this server, for install commands. nil:
    /// derived from each request's `Host`, which is right behind most setups
    /// and never stale when listening on port 0.
    public var baseURL: String?
    /// A queued job not dispatched within this fails (SPEC §5: default 24 h).
    public var jobExpiry: Duration = .seconds(24 * 3600)
    /// A connected agent silent for this long is offline (SPEC §4: 90 s).
    public var agentOfflineAfter: Duration = .seconds(90)
    /// How often connected hosts' last-seen times are written (``AgentPresence``).
    public var lastSeenFlushInterval: Duration = .seconds(30)
    /// Enrollment tokens live this long unless the request says otherwise.
    public var enrollmentTokenLifetime: Duration = .seconds(24 * 3600)
    public var sessionLifetime: Duration = .seconds(12 * 3600)
    /// Whether `/metrics` answers without credentials.
    public var metricsPublic = false
    /// Cookies get `Secure` when the server terminates TLS (and, per request,
    /// behind a proxy that says `X-Forwarded-Proto: https`).
    public var secureCookies = false
    public var loginPolicy = LoginThrottle.Policy()
    /// How often the alert rules are evaluated without an event (SPEC §9.1: at least once a minute).
    public var alertInterval: Duration = .seconds(60)
    /// How long a snapshot browse waits for the agent's listing (SPEC §10.1: 60 s).
    public var browseTimeout: Duration = .seconds(60)
    /// A PEM file of extra CAs that webhook, ping and SMTP TLS trust besides the system's.
    public var notifyCAFile: String?
    public var passwordParameters = Argon2Parameters.rfc9106
    public var connectionLimits = ConnectionLimits()
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    public var trustedProxies = TrustedProxies()
    /// Where the agent packages handed out by `/install.sh` live (SPEC §13).
    public var packagesDirectory = ServerSettings.defaultPackagesDirectory
    public static let defaultPackagesDirectory = "/usr/share/restic-manager-server/packages"
    /// Finished jobs, their logs and repository stats older than this are
    /// deleted, bar what the fleet still shows (SPEC §12: 90 days).
    public var logRetention: Duration = .seconds(90 * 86400)
    /// How often the retention sweep runs after the one at start.
    public var retentionInterval: Duration = .seconds(3600)

    public init(baseURL: String?) { self.baseURL = baseURL }
}

/// The long-lived parts every controller and the agent hub share.
struct ServerServices: Sendable {
    let settings: ServerSettings
    /// This process among the replicas sharing the store.
    let replica: ReplicaID
    let database: AppDatabase
    let secretBox: SecretBox
    let passwords: PasswordService
    let loginThrottle: LoginThrottle
    let hub: AgentHub
    let presence: AgentPresence
    let browse: SnapshotBrowseRequests
    let jobEvents: JobEventBroadcaster
    let metrics: ServerMetrics
    let alerts: AlertEvaluator
    let delivery: NotificationDelivery
    /// The agent packages of `--packages-dir`, read at start.
    let packages: AgentPackageCatalog
    let logger: Logger
}
