import ArgumentParser
import BenchSupport
import Foundation

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
/// concurrent agents over real WebSockets into its real SQLite store, beside
/// a baseline of raw batched inserts into the same schema, in one run.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Benchmark log ingestion: simulated agents over WebSockets vs. raw SQLite inserts."
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

    @Option(help: "Lowest lines/s a WebSocket scenario must reach.")
    var targetLinesPerSecond: Double = 20_000

    @Option(help: "Lowest share of the baseline, in percent, a WebSocket scenario must reach.")
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
        let workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("restic-manager-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDirectory) }

        let duration = Duration.milliseconds(Int64(seconds * 1000))
        var results: [ScenarioResult] = []

        progress("baseline: raw batched inserts, \(agentCounts.max() ?? 1) jobs, batches of \(batchSize)")
        let benchCPUBefore = CPUClock.ownTime()
        var baseline = try BaselineInserter(
            path: workDirectory.appendingPathComponent("baseline.sqlite").path,
            jobCount: agentCounts.max() ?? 1,
            batchSize: batchSize
        ).run(for: duration)
        baseline.benchCPU = CPUClock.ownTime() - benchCPUBefore
        results.append(baseline)

        for (index, count) in agentCounts.enumerated() {
            progress("websocket: \(count) agent(s), window \(window)")
            let dataDirectory = workDirectory.appendingPathComponent("server-\(index)")
            let result = try await ServerProcess.withRunningServer(binary: binary, dataDirectory: dataDirectory) {
                server in
                let admin = try await AdminAPI.signIn(baseURL: server.baseURL, password: server.adminPassword)
                var fleet: [EnrolledAgent] = []
                for number in 1...count { fleet.append(try await admin.enrollHost(named: "bench-\(number)")) }
                let serverCPUBefore = server.cpuTime()
                let benchCPUBefore = CPUClock.ownTime()
                var result = try await AgentFleet(
                    webSocketURL: server.webSocketURL,
                    agents: fleet,
                    window: window
                ).stream(for: duration)
                result.benchCPU = CPUClock.ownTime() - benchCPUBefore
                if let before = serverCPUBefore, let after = server.cpuTime() { result.serverCPU = after - before }
                return result
            }
            results.append(result)
        }

        print(ResultTable(results: results, baseline: baseline).render())
        let misses = results.filter { $0.scenario == .webSocket }.compactMap { result -> String? in
            let percent = result.linesPerSecond / baseline.linesPerSecond * 100
            guard result.linesPerSecond < targetLinesPerSecond || percent < targetPercentOfBaseline else { return nil }
            return "\(result.agents) agent(s)"
        }
        let target = "target ≥ \(Int(targetLinesPerSecond)) lines/s and ≥ \(Int(targetPercentOfBaseline)) % of baseline"
        print(
            misses.isEmpty
                ? "\(target): met by every scenario" : "\(target): missed by \(misses.joined(separator: ", "))"
        )
    }
}

/// What a benchmark step can fail with, in words a user can act on.
enum BenchError: Error, CustomStringConvertible {
    case serverDidNotStart(String)
    case http(String)
    case agent(String)

    var description: String {
        switch self {
        case .serverDidNotStart(let why): "the server did not start: \(why)"
        case .http(let why): "HTTP setup failed: \(why)"
        case .agent(let why): "a simulated agent failed: \(why)"
        }
    }
}
