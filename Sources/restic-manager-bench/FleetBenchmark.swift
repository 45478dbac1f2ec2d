import ArgumentParser
import BenchSupport
import Foundation
import GRDB
import ResticManagerServer

/// SPEC §12 on one machine (issue #12): a seeded fleet of hosts, jobs and
/// log lines, the real release server on it with every agent connected and
/// idle, and then page and API latencies beside raw reads of the same rows,
/// the idle fleet's CPU and memory, and log ingest beside raw inserts.
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
        defer { if dataDir == nil { try? FileManager.default.removeItem(at: workDirectory) } }
        let databasePath = dataDirectory.appendingPathComponent("restic-manager.sqlite").path

        progress("seeding \(hosts) hosts, \(jobs) jobs, \(logLines) log lines")
        let seedStart = ContinuousClock.now
        let fleet = try FleetSeeder(databasePath: databasePath, hosts: hosts, jobs: jobs, logLines: logLines).seed()
        let seedTime = ContinuousClock.now - seedStart
        let seedSeconds = String(format: "%.1f s", seedTime.inSeconds)
        progress("seeded in \(seedSeconds)")

        let ingestHosts = Array(fleet.agents.prefix(ingestAgents))
        let idleHosts = Array(fleet.agents.dropFirst(ingestAgents))
        let addresses = (0..<sourceAddresses).map { "127.0.0.\($0 + 2)" }
        let (probes, idle, ingest) = try await ServerProcess.withRunningServer(
            binary: binary, dataDirectory: dataDirectory
        ) { server in
            let admin = try await AdminAPI.signIn(baseURL: server.baseURL, password: server.adminPassword)
            let residentBefore = residentBytes(ofProcess: server.pid)
            progress("connecting \(idleHosts.count) idle agents from \(max(1, addresses.count)) source address(es)")
            let connectStart = ContinuousClock.now
            let idleFleet = try await onOwnThread {
                try IdleFleet.connect(url: server.webSocketURL, agents: idleHosts, sourceAddresses: addresses, parallel: 16)
            }
            idleFleet.start(heartbeatEvery: .seconds(heartbeatSeconds))
            defer { idleFleet.stop() }
            // The connect storm pokes the alert evaluator thousands of
            // times; its passes and their writes are over after one interval.
            progress("connected in \(ContinuousClock.now - connectStart); settling \(settleSeconds) s")
            try await Task.sleep(for: .seconds(settleSeconds))

            progress("idle fleet: measuring the server's CPU for \(idleSeconds) s")
            let cpuBefore = server.cpuTime() ?? .zero
            let idleStart = ContinuousClock.now
            try await Task.sleep(for: .seconds(idleSeconds))
            let idleWindow = ContinuousClock.now - idleStart
            let idle = IdleCost(
                agents: idleFleet.count,
                seconds: idleWindow.inSeconds,
                cpu: (server.cpuTime() ?? .zero) - cpuBefore, residentBytes: residentBytes(ofProcess: server.pid),
                residentBytesBeforeFleet: residentBefore, closedByServer: idleFleet.closedByServer)

            let reader = try DatabaseQueue(path: databasePath, configuration: readOnly())
            var probes: [ProbeResult] = []
            let sampleHost = idleHosts[idleHosts.count / 2]
            for probe in FleetProbe.fleetProbes(
                hostID: sampleHost.hostID, jobID: fleet.sampleJobID, hostQuery: String(sampleHost.hostname.prefix(10)))
            {
                progress("timing \(probe.path)")
                probes.append(try await measure(probe, admin: admin, reader: reader))
            }

            progress("ingest: \(ingestAgents) agent(s) streaming log lines for \(ingestSeconds) s")
            let serverCPUBefore = server.cpuTime()
            var ingest = try await AgentFleet(webSocketURL: server.webSocketURL, agents: ingestHosts, window: 2000)
                .stream(for: .milliseconds(Int64(ingestSeconds * 1000)))
            if let before = serverCPUBefore, let after = server.cpuTime() { ingest.serverCPU = after - before }
            return (probes, idle, ingest)
        }
        progress("ingest baseline: raw batched inserts into the seeded file")
        let benchCPUBefore = CPUClock.ownTime()
        var baseline = try BaselineInserter(path: databasePath, jobCount: ingestAgents, batchSize: 512)
            .run(for: .milliseconds(Int64(ingestSeconds * 1000)))
        baseline.benchCPU = CPUClock.ownTime() - benchCPUBefore

        print("Fleet: \(hosts) hosts, \(jobs) jobs, \(logLines) log lines; seeded in \(seedSeconds)\n")
        print(FleetReport.render(probes: probes, idle: idle))
        print("\nLog ingest into the seeded database:\n")
        print(ResultTable(results: [baseline, ingest], baseline: baseline).render())
        let share = ingest.linesPerSecond / baseline.linesPerSecond * 100
        print("target ≥ 50 % of raw inserts: \(String(format: "%.0f", share)) %, \(share >= 50 ? "met" : "MISSED")")
    }

    /// The URL's times against the server (status first: a 400 is reported,
    /// not timed) and the raw read's against the file.
    private func measure(_ probe: FleetProbe, admin: AdminAPI, reader: DatabaseQueue) async throws -> ProbeResult {
        let raw = try timeRawRead(probe, reader: reader)
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

    /// Synchronous, so GRDB's blocking read runs on this thread: no queue
    /// hop is timed with the SQL.
    private func timeRawRead(_ probe: FleetProbe, reader: DatabaseQueue) throws -> LatencySample {
        var raw = LatencySample()
        for round in 0..<(warmUp + requests) {
            let start = ContinuousClock.now
            try reader.read { try probe.baseline($0) }
            if round >= warmUp { raw.record(ContinuousClock.now - start) }
        }
        return raw
    }

    private func readOnly() -> Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }
}
