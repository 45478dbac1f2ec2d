import ArgumentParser
import BenchSupport
import Foundation
import GRDB
import ResticManagerServer

/// SPEC §12 on one machine (issue #12): a seeded fleet of hosts, jobs and
/// log lines, the real release server on it with every agent connected and
/// idle, and then page and API latencies beside raw reads of the same rows,
/// the idle fleet's CPU and memory, and log ingest beside raw inserts. With
/// `--database`, the same fleet copied into PostgreSQL is measured the same
/// way after SQLite, each engine against its own raw reads and inserts.
struct FleetBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Benchmark a whole fleet: seeded history, idle agents, page latencies, idle cost, ingest."
    )

    @Option(help: "Hosts to seed; every one but --ingest-agents connects as an idle agent.")
    var hosts: Int = 10_000

    @Option(help: "Finished jobs to seed, spread over 120 days.")
    var jobs: Int = 1_000_000

    @Option(help: "Log lines to seed, shared evenly by the jobs.")
    var logLines: Int = 10_000_000

    @Option(help: "Timed requests per URL (after --warm-up more).")
    var requests: Int = 200

    @Option(help: "Untimed requests per URL first.")
    var warmUp: Int = 20

    @Option(help: "Seconds one URL may take in all; a slower one is timed fewer times (10 at least).")
    var secondsPerURL: Int = 60

    @Option(help: "Seconds over which the idle fleet's CPU is measured.")
    var idleSeconds: Int = 60

    @Option(help: "Seconds between the last connect and the CPU window: longer than one alert pass interval (60 s).")
    var settleSeconds: Int = 75

    @Option(help: "Seconds between each idle agent's heartbeats (the real agent's: 30).")
    var heartbeatSeconds: Int = 30

    @Option(help: "Loopback source addresses the agents connect from (127.0.0.2 …), each with its own port range.")
    var sourceAddresses: Int = 8

    @Option(help: "Agents streaming log lines in the ingest step (taken from the seeded hosts).")
    var ingestAgents: Int = 4

    @Option(help: "Seconds the ingest step and its raw-insert baseline run each.")
    var ingestSeconds: Double = 5

    @Option(help: "The server binary (default: restic-manager-server next to this binary).")
    var serverBinary: String?

    @Option(help: "Keep the seeded data dir here instead of a temporary one.")
    var dataDir: String?

    @OptionGroup var postgres: PostgresOptions

    func validate() throws {
        guard hosts > ingestAgents, ingestAgents >= 1 else {
            throw ValidationError("--hosts must be larger than --ingest-agents (at least 1)")
        }
        guard jobs >= 1, logLines >= 0 else { throw ValidationError("--jobs must be at least 1, --log-lines at least 0") }
        guard requests >= 1, warmUp >= 0, idleSeconds >= 1, heartbeatSeconds >= 1, settleSeconds >= 0 else {
            throw ValidationError("--requests, --idle-seconds and --heartbeat-seconds must be positive")
        }
        guard (0...250).contains(sourceAddresses) else { throw ValidationError("--source-addresses must be 0 to 250") }
    }

    func run() async throws {
        let binary = try ServerProcess.binary(serverBinary)
        let postgresServer = try await postgres.server()
        // 10,000 sockets need more than the usual soft limit of 1,024; the
        // server started below inherits the raised one (and raises its own).
        let limit = FileDescriptorLimit.raiseToHard()
        let soft = limit?.now ?? 0
        progress("open file limit \(soft) (hard \(limit?.hard ?? 0))")
        guard soft > hosts + 256 else {
            throw ValidationError(
                "the open file limit (\(soft)) is too low for \(hosts) sockets; raise the hard limit (ulimit -Hn)")
        }
        let workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("restic-manager-fleet-\(UUID().uuidString.prefix(8))")
        let dataDirectory = dataDir.map { URL(fileURLWithPath: $0) } ?? workDirectory.appendingPathComponent("data")
        try FileManager.default.createDirectory(
            at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: workDirectory) }
        let sqlite = StoreLocation(dataDirectory: dataDirectory.path)

        progress("seeding \(hosts) hosts, \(jobs) jobs, \(logLines) log lines")
        let seedStart = ContinuousClock.now
        let fleet = try FleetSeeder(databasePath: sqlite.sqlitePath, hosts: hosts, jobs: jobs, logLines: logLines).seed()
        let seedSeconds = String(format: "%.1f s", (ContinuousClock.now - seedStart).inSeconds)
        progress("seeded in \(seedSeconds)")

        var seeding = "seeded in \(seedSeconds)"
        let runs: [FleetRun]
        if let postgresServer {
            runs = try await postgresServer.withFreshDatabase("fleet") { url in
                // Before SQLite's server runs, whose retention sweep and
                // alerts change the file: both engines start from the same rows.
                progress("copying the seeded fleet into PostgreSQL (restic-manager-server migrate-to)")
                let copyStart = ContinuousClock.now
                try await ServerProcess.migrate(binary: binary, dataDirectory: sqlite.dataDirectory, into: url)
                seeding += String(format: ", copied into PostgreSQL in %.1f s", (ContinuousClock.now - copyStart).inSeconds)
                // Its data dir holds only the secret key the server makes at first start.
                let postgresData = workDirectory.appendingPathComponent("postgres-data")
                try FileManager.default.createDirectory(
                    at: postgresData, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let postgresStore = StoreLocation(dataDirectory: postgresData.path, postgres: url)
                return [
                    try await measure(sqlite, fleet: fleet, binary: binary),
                    try await measure(postgresStore, fleet: fleet, binary: binary),
                ]
            }
        } else {
            runs = [try await measure(sqlite, fleet: fleet, binary: binary)]
        }

        print("Fleet: \(hosts) hosts, \(jobs) jobs, \(logLines) log lines; \(seeding)\n")
        print(FleetReport.render(runs: runs))
        print("\nLog ingest into the seeded store:\n")
        let table = ResultTable(results: runs.flatMap { [$0.ingestBaseline, $0.ingest] })
        print(table.render())
        for run in runs {
            let share = table.percentOfBaseline(run.ingest)
            print(
                "\(run.engine.rawValue) target ≥ 50 % of raw inserts: \(String(format: "%.0f", share)) %, "
                    + (share >= 50 ? "met" : "MISSED"))
        }
    }

    /// The server on `store` with the idle fleet connected: its idle cost,
    /// then the probes, then log ingest; after it stops, the raw inserts.
    private func measure(_ store: StoreLocation, fleet: FleetSeeder.Fleet, binary: URL) async throws -> FleetRun {
        let engine = store.engine.rawValue
        let ingestHosts = Array(fleet.agents.prefix(ingestAgents))
        let idleHosts = Array(fleet.agents.dropFirst(ingestAgents))
        let addresses = (0..<sourceAddresses).map { "127.0.0.\($0 + 2)" }
        let ingestDuration = Duration.milliseconds(Int64(ingestSeconds * 1000))
        let (probes, idle, ingest) = try await ServerProcess.withRunningServer(binary: binary, store: store) { server in
            let admin = try await AdminAPI.signIn(baseURL: server.baseURL, password: server.adminPassword)
            let residentBefore = residentBytes(ofProcess: server.pid)
            progress("\(engine): connecting \(idleHosts.count) idle agents from \(max(1, addresses.count)) source address(es)")
            let connectStart = ContinuousClock.now
            let idleFleet = try await onOwnThread {
                try IdleFleet.connect(url: server.webSocketURL, agents: idleHosts, sourceAddresses: addresses, parallel: 16)
            }
            idleFleet.start(heartbeatEvery: .seconds(heartbeatSeconds))
            defer { idleFleet.stop() }
            // The connect storm pokes the alert evaluator thousands of
            // times; its passes and their writes are over after one interval.
            progress("\(engine): connected in \(ContinuousClock.now - connectStart); settling \(settleSeconds) s")
            try await Task.sleep(for: .seconds(settleSeconds))

            progress("\(engine): idle fleet: measuring the server's CPU for \(idleSeconds) s")
            let cpuBefore = server.cpuTime() ?? .zero
            let idleStart = ContinuousClock.now
            try await Task.sleep(for: .seconds(idleSeconds))
            let idleWindow = ContinuousClock.now - idleStart
            let idle = IdleCost(
                agents: idleFleet.count,
                seconds: idleWindow.inSeconds,
                cpu: (server.cpuTime() ?? .zero) - cpuBefore, residentBytes: residentBytes(ofProcess: server.pid),
                residentBytesBeforeFleet: residentBefore, closedByServer: idleFleet.closedByServer)

            let sampleHost = idleHosts[idleHosts.count / 2]
            let probes = try await RawReader.with(store) { reader in
                var probes: [ProbeResult] = []
                for probe in FleetProbe.fleetProbes(
                    hostID: sampleHost.hostID, jobID: fleet.sampleJobID, hostQuery: String(sampleHost.hostname.prefix(10)))
                {
                    progress("\(engine): timing \(probe.path)")
                    probes.append(try await measure(probe, admin: admin, reader: reader))
                }
                return probes
            }

            progress("\(engine): ingest: \(ingestAgents) agent(s) streaming log lines for \(ingestSeconds) s")
            let serverCPUBefore = server.cpuTime()
            var ingest = try await AgentFleet(webSocketURL: server.webSocketURL, agents: ingestHosts, window: 2000)
                .stream(for: ingestDuration, engine: store.engine)
            if let before = serverCPUBefore, let after = server.cpuTime() { ingest.serverCPU = after - before }
            return (probes, idle, ingest)
        }
        progress("\(engine): ingest baseline: raw batched inserts into the seeded store")
        let benchCPUBefore = CPUClock.ownTime()
        var baseline = try await BaselineInserter(store: store, jobCount: ingestAgents, batchSize: 512)
            .run(for: ingestDuration)
        baseline.benchCPU = CPUClock.ownTime() - benchCPUBefore
        return FleetRun(engine: store.engine, probes: probes, idle: idle, ingestBaseline: baseline, ingest: ingest)
    }

    /// The URL's times against the server (status first: a 400 is reported,
    /// not timed) and the raw read's against the store.
    private func measure(_ probe: FleetProbe, admin: AdminAPI, reader: RawReader) async throws -> ProbeResult {
        var raw = LatencySample()
        for round in 0..<(warmUp + requests) {
            let start = ContinuousClock.now
            try await reader.read(probe.rawRead)
            if round >= warmUp { raw.record(ContinuousClock.now - start) }
        }
        let (status, _) = try await admin.get(probe.path)
        guard status == 200 else { return ProbeResult(probe: probe, server: nil, raw: raw, status: status) }
        // A page that takes seconds (the fleet page before issue #12) would
        // take many minutes at 200 requests: past the budget, warm-up ends
        // and timing stops at the least sample a p99 can be read from.
        let deadline = ContinuousClock.now + .seconds(secondsPerURL)
        var server = LatencySample()
        var round = 0
        while server.count < requests {
            let start = ContinuousClock.now
            let (status, _) = try await admin.get(probe.path)
            guard status == 200 else { throw BenchError.http("\(probe.path) answered \(status) after 200") }
            if round >= warmUp { server.record(ContinuousClock.now - start) }
            round += 1
            if ContinuousClock.now > deadline {
                if round < warmUp { round = warmUp } else if server.count >= 10 { break }
            }
        }
        return ProbeResult(probe: probe, server: server, raw: raw, status: status)
    }
}
