import ArgumentParser
import BenchSupport
import Foundation
import ResticManagerServer

/// The benchmarks of the server against the real binary: `ingest`
/// (`scripts/bench-ingest`, the default) and `fleet` (`scripts/bench-fleet`).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restic-manager-bench",
        abstract: "Benchmarks of the real server over real sockets.",
        subcommands: [IngestBenchmark.self, FleetBenchmark.self],
        defaultSubcommand: IngestBenchmark.self
    )
}

/// Measures how many log lines per second the real server ingests from
/// concurrent agents over real WebSockets into its real store, beside a
/// baseline of raw batched inserts into the same schema, in one run: on
/// SQLite, and with `--database` on PostgreSQL too, each engine against its
/// own baseline.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Benchmark log ingestion: simulated agents over WebSockets vs. raw inserts, per engine."
    )

    @Option(help: "Comma-separated agent counts, one scenario each.")
    var agents: String = "1,4,16"

    @Option(help: "Seconds each scenario keeps sending (it then waits for the last acks).")
    var seconds: Double = 3

    @Option(help: "Unacked messages each agent keeps in flight at most, like its outbox window.")
    var window: Int = 2000

    @Option(help: "Lines per baseline transaction; keep equal to the server's ingest batch size.")
    var batchSize: Int = 512

    @Option(help: "The server binary (default: restic-manager-server next to this binary).")
    var serverBinary: String?

    @OptionGroup var postgres: PostgresOptions

    @Option(help: "Lowest lines/s a WebSocket scenario must reach.")
    var targetLinesPerSecond: Double = 20_000

    @Option(help: "Lowest share of its engine's baseline, in percent, a WebSocket scenario must reach.")
    var targetPercentOfBaseline: Double = 50

    var agentCounts: [Int] { agents.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let counts = agentCounts
        guard !counts.isEmpty, counts.count == agents.split(separator: ",").count, counts.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--agents must be a comma-separated list of positive integers, e.g. 1,4,16")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() async throws {
        let binary = try ServerProcess.binary(serverBinary)
        let postgresServer = try await postgres.server()
        let workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("restic-manager-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDirectory) }

        let duration = Duration.milliseconds(Int64(seconds * 1000))
        var results: [ScenarioResult] = []
        // Engine by engine, so that each baseline runs just before the
        // scenarios compared with it.
        for stores in FreshStores.perEngine(in: workDirectory, postgres: postgresServer) {
            let engine = stores.engine.rawValue
            progress("\(engine) baseline: raw batched inserts, \(agentCounts.max() ?? 1) jobs, batches of \(batchSize)")
            results.append(
                try await stores.withStore("baseline") { store in
                    let benchCPUBefore = CPUClock.ownTime()
                    var baseline = try await BaselineInserter(
                        store: store, jobCount: agentCounts.max() ?? 1, batchSize: batchSize
                    ).run(for: duration)
                    baseline.benchCPU = CPUClock.ownTime() - benchCPUBefore
                    return baseline
                })
            for count in agentCounts {
                progress("\(engine) websocket: \(count) agent(s), window \(window)")
                results.append(
                    try await stores.withStore("agents_\(count)") { store in
                        try await streamLogLines(agents: count, binary: binary, store: store, for: duration)
                    })
            }
        }

        let table = ResultTable(results: results)
        print(table.render())
        let target = "target ≥ \(Int(targetLinesPerSecond)) lines/s and ≥ \(Int(targetPercentOfBaseline)) % of its baseline"
        for engine in table.engines {
            let misses = results.filter { $0.engine == engine && $0.scenario == .webSocket }.compactMap {
                result -> String? in
                let percent = table.percentOfBaseline(result)
                guard result.linesPerSecond < targetLinesPerSecond || percent < targetPercentOfBaseline else {
                    return nil
                }
                return "\(result.agents) agent(s) (\(Int(result.linesPerSecond)) lines/s, \(String(format: "%.0f", percent)) %)"
            }
            print(
                "\(engine.rawValue) \(target): "
                    + (misses.isEmpty ? "met by every scenario" : "missed by \(misses.joined(separator: ", "))"))
        }
    }

    /// One scenario: the server on `store`, `agents` hosts enrolled through
    /// its API, then each streaming one job's log lines.
    private func streamLogLines(agents count: Int, binary: URL, store: StoreLocation, for duration: Duration)
        async throws -> ScenarioResult
    {
        try await ServerProcess.withRunningServer(binary: binary, store: store) { server in
            let admin = try await AdminAPI.signIn(baseURL: server.baseURL, password: server.adminPassword)
            var fleet: [EnrolledAgent] = []
            for number in 1...count { fleet.append(try await admin.enrollHost(named: "bench-\(number)")) }
            let serverCPUBefore = server.cpuTime()
            let benchCPUBefore = CPUClock.ownTime()
            var result = try await AgentFleet(
                webSocketURL: server.webSocketURL,
                agents: fleet,
                window: window
            ).stream(for: duration, engine: store.engine)
            result.benchCPU = CPUClock.ownTime() - benchCPUBefore
            if let before = serverCPUBefore, let after = server.cpuTime() { result.serverCPU = after - before }
            return result
        }
    }
}

/// What a benchmark step can fail with, in words a user can act on.
enum BenchError: Error, CustomStringConvertible {
    case serverDidNotStart(String)
    case http(String)
    case agent(String)
    case store(String)
    /// `url` is the URL without its password.
    case postgres(url: String, reason: String)

    var description: String {
        switch self {
        case .serverDidNotStart(let why): "the server did not start: \(why)"
        case .http(let why): "HTTP setup failed: \(why)"
        case .agent(let why): "a simulated agent failed: \(why)"
        case .store(let why): "setting up the store failed: \(why)"
        case .postgres(let url, let reason):
            "PostgreSQL at \(url): \(reason); check --database, its password (in the URL or PGPASSWORD) "
                + "and that the server accepts connections from here"
        }
    }
}
