import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ResticManagerLogging
import ResticManagerServer

@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restic-manager-server",
        abstract: "Runs restic backups on a fleet of hosts from one place.",
        version: serverVersion,
        subcommands: [Serve.self, UserCommand.self, MigrateTo.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP and agent WebSocket server.")

    @OptionGroup var store: StoreOptions

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:8080"

    @Option(help: "PEM certificate chain; serve HTTPS and WSS.")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "URL agents and browsers use to reach this server (default from --listen).")
    var baseURL: String?

    @Option(help: "Seconds without a message before an agent counts as offline.")
    var agentOfflineAfter: Int = 90

    // Hidden: tests shorten it to see a flush without waiting 30 s.
    @Option(help: .hidden)
    var lastSeenFlushSeconds: Int = 30

    @Option(help: "Seconds a queued job waits for its offline host before it fails.")
    var jobExpirySeconds: Int = 86400

    @Flag(help: "Serve /metrics without credentials.")
    var publicMetrics = false

    @Option(help: "Seconds between alert rule evaluations when nothing happens (events trigger one at once).")
    var alertIntervalSeconds: Int = 60

    @Option(help: "PEM file of extra CA certificates trusted for webhooks, ping URLs and SMTP TLS.")
    var notifyCaFile: String?

    @Option(help: "Seconds a snapshot browse waits for the agent's listing.")
    var browseTimeoutSeconds: Int = 60

    @Option(help: ArgumentHelp(
        "A reverse proxy (address or CIDR) whose X-Forwarded-For names the client; repeat for several.",
        valueName: "cidr"))
    var trustedProxy: [String] = []

    @Option(help: "Wrong passwords one client IP may send in 15 minutes; past them only correct ones get in.")
    var loginFailuresPerIp: Int = 100

    @Option(help: "Seconds a request's headers may take to arrive, from connect or the previous response.")
    var requestHeadTimeout: Int = 10

    @Option(help: "Connections one client IP may hold open that are not agent WebSockets (trusted proxies exempt).")
    var maxConnectionsPerIp: Int = 64

    @Option(help: "Directory of the agent packages served to hosts with /install.sh (SPEC §13).")
    var packagesDir: String = ServerSettings.defaultPackagesDirectory

    @Option(help: "Days of finished jobs, their logs and repository stats to keep (each host's latest ones stay).")
    var logRetentionDays: Int = 90

    @Option(help: "Seconds between retention sweeps after the one at start.")
    var retentionIntervalSeconds: Int = 3600

    @OptionGroup var logOptions: LogOptions

    func validate() throws {
        for proxy in trustedProxy where IPNetwork(proxy) == nil {
            throw ValidationError("--trusted-proxy \(proxy) is not an address or CIDR such as 10.0.0.0/8 or ::1")
        }
        guard (1...1_000_000).contains(loginFailuresPerIp) else {
            throw ValidationError("--login-failures-per-ip must be from 1 to 1000000")
        }
        guard (1...3600).contains(requestHeadTimeout) else {
            throw ValidationError("--request-head-timeout must be from 1 to 3600 seconds")
        }
        guard (1...100_000).contains(maxConnectionsPerIp) else {
            throw ValidationError("--max-connections-per-ip must be from 1 to 100000")
        }
        guard ListenAddress(listen) != nil else {
            throw ValidationError("--listen must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if let baseURL {
            guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--base-url must be an http:// or https:// URL")
            }
        }
        guard (1...86400).contains(agentOfflineAfter) else {
            throw ValidationError("--agent-offline-after must be from 1 to 86400 seconds")
        }
        guard (1...3600).contains(lastSeenFlushSeconds) else {
            throw ValidationError("--last-seen-flush-seconds must be from 1 to 3600")
        }
        guard (1...31_536_000).contains(jobExpirySeconds) else {
            throw ValidationError("--job-expiry-seconds must be from 1 to 31536000 (a year)")
        }
        guard (1...60).contains(alertIntervalSeconds) else {
            throw ValidationError("--alert-interval-seconds must be from 1 to 60 (SPEC: at least once a minute)")
        }
        guard (1...300).contains(browseTimeoutSeconds) else {
            throw ValidationError("--browse-timeout-seconds must be from 1 to 300")
        }
        guard (1...36_500).contains(logRetentionDays) else {
            throw ValidationError("--log-retention-days must be a whole number of days from 1 to 36500")
        }
        guard (1...86400).contains(retentionIntervalSeconds) else {
            throw ValidationError("--retention-interval-seconds must be from 1 to 86400")
        }
        if let notifyCaFile, !FileManager.default.isReadableFile(atPath: notifyCaFile) {
            throw ValidationError("--notify-ca-file \(notifyCaFile) is not a readable file")
        }
    }

    func run() async throws {
        let logger = logOptions.bootstrap(label: "restic-manager", to: .standardOutput)
        bootstrapServerMetrics()
        let address = ListenAddress(listen)!
        var settings = ServerSettings(baseURL: baseURL)
        settings.agentOfflineAfter = .seconds(agentOfflineAfter)
        settings.lastSeenFlushInterval = .seconds(lastSeenFlushSeconds)
        settings.jobExpiry = .seconds(jobExpirySeconds)
        settings.metricsPublic = publicMetrics
        settings.alertInterval = .seconds(alertIntervalSeconds)
        settings.notifyCAFile = notifyCaFile
        settings.browseTimeout = .seconds(browseTimeoutSeconds)
        settings.packagesDirectory = packagesDir
        settings.logRetention = .seconds(logRetentionDays * 86400)
        settings.retentionInterval = .seconds(retentionIntervalSeconds)
        settings.secureCookies = tlsCert != nil
        settings.trustedProxies = TrustedProxies(trustedProxy.compactMap(IPNetwork.init))
        settings.loginPolicy.failuresPerIP = loginFailuresPerIp
        settings.connectionLimits.requestHeadTimeout = .seconds(requestHeadTimeout)
        settings.connectionLimits.maxConnectionsPerIP = maxConnectionsPerIp
        let options = ServeOptions(
            store: try store.location(), host: address.host, port: address.port, tlsCertificatePath: tlsCert,
            tlsKeyPath: tlsKey, settings: settings)
        do {
            let app = try await buildApplication(options, logger: logger) { password in
                FileHandle.standardError.write(Data(
                    "restic-manager: created user admin with password \(password)\nrestic-manager: it is shown only once; change it with `restic-manager-server user passwd --username admin`\n".utf8))
            }
            try await app.runService()
        } catch let error as ServerStartError {
            throw ValidationError(error.description)
        }
    }
}

/// `HOST:PORT`, with IPv6 hosts in brackets.
struct ListenAddress {
    let host: String
    let port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        self.host = host
        self.port = port
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users offline, on the data dir or --database.",
        subcommands: [Add.self, List.self, Passwd.self, Disable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user.")
        @Option var username: String
        @Option(help: "admin, operator or viewer.") var role: String
        @Flag(help: "Read the password from stdin instead of generating one.") var passwordStdin = false
        @OptionGroup var store: StoreOptions
        @OptionGroup var logOptions: LogOptions

        func run() async throws {
            let logger = logOptions.bootstrap(label: "restic-manager", to: .standardOutput)
            let admin = try await reportingErrors { try await UserAdministration(store.location(), logger: logger) }
            let generated = try await reportingErrors {
                try await admin.add(username: username, role: role, password: passwordStdin ? try readPassword() : nil)
            }
            print("created user \(username) (\(role))")
            if let generated { printGenerated(generated) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logOptions: LogOptions

        func run() async throws {
            let logger = logOptions.bootstrap(label: "restic-manager", to: .standardOutput)
            let admin = try await reportingErrors { try await UserAdministration(store.location(), logger: logger) }
            print("USERNAME\tROLE\tDISABLED")
            for user in try await admin.list() {
                print("\(user.username)\t\(user.role.rawValue)\t\(user.disabled)")
            }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password; ends their sessions.")
        @Option var username: String
        @Flag(help: "Read the password from stdin instead of generating one.") var passwordStdin = false
        @OptionGroup var store: StoreOptions
        @OptionGroup var logOptions: LogOptions

        func run() async throws {
            let logger = logOptions.bootstrap(label: "restic-manager", to: .standardOutput)
            let admin = try await reportingErrors { try await UserAdministration(store.location(), logger: logger) }
            let generated = try await reportingErrors {
                try await admin.setPassword(username: username, password: passwordStdin ? try readPassword() : nil)
            }
            print("password of \(username) changed")
            if let generated { printGenerated(generated) }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user; ends their sessions.")
        @Option var username: String
        @Flag(help: "Enable the user again instead.") var enable = false
        @OptionGroup var store: StoreOptions
        @OptionGroup var logOptions: LogOptions

        func run() async throws {
            let logger = logOptions.bootstrap(label: "restic-manager", to: .standardOutput)
            let admin = try await reportingErrors { try await UserAdministration(store.location(), logger: logger) }
            try await reportingErrors { try await admin.setDisabled(username: username, disabled: !enable) }
            print("\(username) \(enable ? "enabled" : "disabled")")
        }
    }
}

/// Turns store and validation errors into the one-line message of a CLI failure.
private func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as UserAdministrationError {
        throw ValidationError(error.description)
    } catch let error as StoreError {
        throw ValidationError(error.description)
    } catch let error as ServerStartError {
        throw ValidationError(error.description)
    }
}

private func readPassword() throws -> String {
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw ValidationError("--password-stdin: no password on stdin")
    }
    return line
}

private func printGenerated(_ password: String) {
    FileHandle.standardError.write(Data("generated password (shown once): \(password)\n".utf8))
}
