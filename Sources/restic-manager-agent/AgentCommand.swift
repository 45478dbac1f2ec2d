import ArgumentParser
import Foundation
import Logging
import ResticManagerAgent
import ResticManagerLogging

@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restic-manager-agent",
        abstract: "Runs restic backups on this host for a restic-manager server.",
        version: agentVersion,
        subcommands: [Enroll.self, Run.self, Status.self])

    /// Errors print as one line (`error: …`) and exit 64 for bad input, 1
    /// otherwise; `--help` and `--version` print in full.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}

/// A failure after the input was accepted: one line on stderr, exit 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// How the agent trusts the server: extra CAs, and plain connections to
/// non-loopback hosts. `enroll` and `run` share them.
struct ServerTrustOptions: ParsableArguments {
    @Option(help: "PEM file with extra CA certificates to trust for the server.")
    var caFile: String?

    @Flag(help: "Allow plain http:// and ws:// to a host that is not loopback.")
    var insecure = false

    func validate() throws {
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ValidationError("--ca-file \(caFile) is not a readable file")
        }
    }
}

struct StateOptions: ParsableArguments {
    @Option(help: "Directory holding the agent's state (credential, config, schedules, jobs, outbox).")
    var stateDir: String = Platform.defaultStateDirectory

    func validate() throws {
        guard !stateDir.isEmpty else { throw ValidationError("--state-dir must not be empty") }
    }
}

struct Enroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exchange a one-time enrollment token for this host's agent credential.")

    @Option(help: "Server URL, e.g. https://backup.example.com.")
    var server: String

    @Option(help: "One-time enrollment token (rme_…) from the server.")
    var token: String?

    @Flag(help: "Read the enrollment token from the first line of stdin (keeps it off the process list).")
    var tokenStdin = false

    @Option(help: "Display name of this host on the server (default: its hostname).")
    var name: String?

    @OptionGroup var trust: ServerTrustOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var logOptions: LogOptions

    func validate() throws {
        do {
            _ = try ServerEndpoint(server, insecure: trust.insecure)
        } catch {
            throw ValidationError(error.description)
        }
        switch (token, tokenStdin) {
        case (nil, false): throw ValidationError("give the enrollment token with --token TOKEN or --token-stdin")
        case (.some, true): throw ValidationError("--token and --token-stdin exclude each other")
        case (let token?, false):
            guard !token.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--token must not be empty")
            }
        case (nil, true): break
        }
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--name must not be empty")
        }
    }

    func run() async throws {
        let logger = logOptions.bootstrap(label: "restic-manager-agent", to: .standardError)
        let endpoint = try ServerEndpoint(server, insecure: trust.insecure)
        let store: AgentStateStore
        do {
            store = try AgentStateStore.open(stateDirectory: state.stateDir)
        } catch {
            throw CommandFailure(error.description)
        }
        let facts = HostFacts.current()
        let token = try enrollmentToken()
        let enrolled: EnrollmentClient.Enrolled
        do {
            enrolled = try await EnrollmentClient.enroll(
                endpoint: endpoint, token: token, facts: facts, name: name,
                caFile: trust.caFile)
        } catch {
            throw CommandFailure(error.description)
        }
        do {
            try await store.saveCredential(AgentCredential(serverURL: endpoint.baseURL, agentToken: enrolled.agentToken,
                                                     hostID: enrolled.hostID))
        } catch {
            throw CommandFailure("enrolled as host \(enrolled.hostID) but could not save the credential: \(error)")
        }
        logger.info("enrolled", metadata: ["host_id": "\(enrolled.hostID)", "server": "\(endpoint.baseURL)"])
        print("enrolled as host \(enrolled.hostID); credential saved in \(AgentStateStore.databasePath(stateDirectory: state.stateDir))")
        print("start the agent with: restic-manager-agent run --state-dir \(state.stateDir)")
    }

    /// The token from `--token` or stdin, without surrounding blanks.
    private func enrollmentToken() throws -> String {
        let text = tokenStdin ? readLine(strippingNewline: true) ?? "" : token ?? ""
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw CommandFailure("--token-stdin: no token on stdin") }
        return trimmed
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent daemon until SIGTERM or SIGINT.")

    @Option(help: "restic executable (a path or a name on PATH; default: restic on PATH).")
    var restic: String?

    @Option(
        name: .customLong("restore-to"),
        help: ArgumentHelp(
            "A folder restores may write into (repeatable). Without it this host refuses every restore.",
            valueName: "dir"))
    var restoreTo: [String] = []

    @Flag(help: "Run no pre- or post-hook: a job that has one fails before restic runs.")
    var noHooks = false

    @OptionGroup var trust: ServerTrustOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var logOptions: LogOptions

    func validate() throws {
        if let restic, restic.isEmpty { throw ValidationError("--restic must not be empty") }
        do {
            _ = try RestoreTargets(resolving: restoreTo)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let logger = logOptions.bootstrap(label: "restic-manager-agent", to: .standardError)
        do {
            try await AgentRuntime.run(
                AgentRunOptions(
                    stateDirectory: state.stateDir, resticPath: restic, caFile: trust.caFile, insecure: trust.insecure,
                    restoreTo: restoreTo, hooksAllowed: !noHooks),
                logger: logger)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show connection state, schedules, next runs and recent jobs from local state.")

    @Option(help: "How many recent jobs to show.")
    var jobs: Int = 10

    @OptionGroup var state: StateOptions
    @OptionGroup var logOptions: LogOptions

    func validate() throws {
        guard (1...200).contains(jobs) else { throw ValidationError("--jobs must be from 1 to 200") }
    }

    func run() async throws {
        _ = logOptions.bootstrap(label: "restic-manager-agent", to: .standardError)
        let path = AgentStateStore.databasePath(stateDirectory: state.stateDir)
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("no agent state in \(state.stateDir); enroll first")
        }
        do {
            let store = try AgentStateStore.open(stateDirectory: state.stateDir)
            print(try await AgentStatusReport.render(store: store, stateDirectory: state.stateDir, jobLimit: jobs))
        } catch {
            throw CommandFailure("cannot read agent state: \(error)")
        }
    }
}
