import ArgumentParser
import BenchSupport
import Foundation

/// Chooses the libraries for a second store engine by measurement
/// (`scripts/bench-store-drivers`): the store's hottest write (log lines in
/// batches) and a job page's read, through GRDB and SQLiteKit on SQLite and
/// through postgres-nio and PostgresKit on a real PostgreSQL server, in one
/// run. Drivers take turns in rounds so that a noisy machine slows them alike.
@main
struct DriverBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-drivers-bench",
        abstract: "Store libraries compared: log-line ingest and a job page's read on SQLite and PostgreSQL."
    )

    @Option(help: "Seconds each driver inserts per round.")
    var seconds: Double = 2

    @Option(help: "Rounds; every driver runs once per round, in turn.")
    var rounds: Int = 3

    @Option(help: "Lines per transaction; keep equal to the server's ingest batch size.")
    var batchSize: Int = 512

    @Option(help: "Running jobs the batches go round over.")
    var jobs: Int = 16

    @Option(help: "Job-page reads per driver and round.")
    var reads: Int = 500

    @Option(help: "A PostgreSQL server to use (postgres://user:password@host:port/db); default: a throwaway one.")
    var database: String?

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1…10000") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard reads >= 1 else { throw ValidationError("--reads must be at least 1") }
        if let database, PostgresURL(database) == nil {
            throw ValidationError("--database must be postgres://user:password@host:port/database")
        }
    }

    func run() async throws {
        let workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("restic-manager-drivers-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDirectory) }

        var cluster: PostgresCluster?
        if database == nil {
            progress("starting a throwaway PostgreSQL server")
            cluster = try await PostgresCluster.start(in: workDirectory)
        }
        // `validate()` checked a given URL, and the cluster's is built well-formed.
        guard let url = PostgresURL(database ?? cluster?.url ?? "") else {
            await cluster?.stop()
            throw PostgresError("no usable postgres:// URL")
        }
        do {
            try await compare(url: url, in: workDirectory)
        } catch {
            await cluster?.stop()
            throw error
        }
        await cluster?.stop()
    }

    private func compare(url: PostgresURL, in workDirectory: URL) async throws {
        let drivers: [any StoreDriver] = [
            try GRDBDriver(path: workDirectory.appendingPathComponent("grdb.sqlite").path),
            try await SQLiteKitDriver.open(path: workDirectory.appendingPathComponent("sqlitekit.sqlite").path),
            PostgresDriver(url: url, shape: .perLine),
            try await BlockingPostgresDriver.open(url: url),
            PostgresDriver(url: url, shape: .unnest),
            PostgresDriver(url: url, shape: .sqlKit),
        ]
        do {
            let measurements = try await measure(drivers)
            for driver in drivers { try await driver.close() }
            print(DriverTable(measurements: measurements).render())
        } catch {
            // Connections must be closed before they go (sqlite-nio asserts it).
            for driver in drivers { try? await driver.close() }
            throw error
        }
    }

    private func measure(_ drivers: [any StoreDriver]) async throws -> [DriverMeasurement] {
        let jobIDs = (0..<jobs).map { _ in UUID().uuidString.lowercased() }
        var measurements = drivers.map { DriverMeasurement(name: $0.name, engine: $0.engine) }
        for round in 1...rounds {
            for (index, driver) in drivers.enumerated() {
                progress("round \(round)/\(rounds): \(driver.engine.rawValue), \(driver.name)")
                // Every run starts from empty tables; the PostgreSQL drivers share theirs.
                try await driver.prepare(jobIDs: jobIDs)
                let written = try await ingest(driver, jobIDs: jobIDs, into: &measurements[index])
                try await read(driver, jobIDs: Array(jobIDs.prefix(written)), into: &measurements[index])
            }
        }
        return measurements
    }

    /// Batches round-robin over the jobs, one job per batch, as the server sees them from concurrent agents.
    /// Returns how many of the jobs got lines (all but on a very short run).
    private func ingest(_ driver: any StoreDriver, jobIDs: [String], into measurement: inout DriverMeasurement)
        async throws -> Int
    {
        var nextSeq = [Int64](repeating: 1, count: jobIDs.count)
        let clock = ContinuousClock()
        let start = clock.now
        let duration = Duration.milliseconds(Int64(seconds * 1000))
        var batches = 0
        while clock.now - start < duration {
            let job = batches % jobIDs.count
            try await driver.insertBatch(jobID: jobIDs[job], firstSeq: nextSeq[job], count: batchSize)
            nextSeq[job] += Int64(batchSize)
            batches += 1
        }
        measurement.lines += batches * batchSize
        measurement.ingestTime += clock.now - start
        return min(batches, jobIDs.count)
    }

    private func read(_ driver: any StoreDriver, jobIDs: [String], into measurement: inout DriverMeasurement) async throws {
        let clock = ContinuousClock()
        for number in 0..<reads {
            let start = clock.now
            let rows = try await driver.readNewest(jobID: jobIDs[number % jobIDs.count])
            measurement.readLatencies.append(clock.now - start)
            guard rows > 0 else { throw PostgresError("\(driver.name) read no rows back") }
        }
    }
}

/// What one driver did over all rounds.
struct DriverMeasurement {
    let name: String
    let engine: StoreEngine
    var lines = 0
    var ingestTime = Duration.zero
    var readLatencies: [Duration] = []

    var linesPerSecond: Double { ingestTime > .zero ? Double(lines) / ingestTime.inSeconds : 0 }

    func readMilliseconds(percentile: Double) -> Double {
        let sorted = readLatencies.sorted()
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * percentile).rounded(.up)) - 1)
        return sorted[max(0, index)].inSeconds * 1000
    }
}

/// The table the driver benchmark prints: each driver against today's store
/// (GRDB) and against the fastest driver of its own engine.
struct DriverTable {
    let measurements: [DriverMeasurement]

    func render() -> String {
        let reference = measurements.first { $0.engine == .sqlite }?.linesPerSecond ?? 1
        let header = ["engine", "driver", "lines/s", "% of GRDB", "% of engine's best", "read p50 ms", "read p99 ms"]
        let rows = measurements.map { measurement -> [String] in
            let best = measurements.filter { $0.engine == measurement.engine }.map(\.linesPerSecond).max() ?? 1
            return [
                measurement.engine.rawValue, measurement.name, String(Int(measurement.linesPerSecond.rounded())),
                String(format: "%.1f %%", measurement.linesPerSecond / reference * 100),
                String(format: "%.1f %%", measurement.linesPerSecond / best * 100),
                String(format: "%.2f", measurement.readMilliseconds(percentile: 0.5)),
                String(format: "%.2f", measurement.readMilliseconds(percentile: 0.99)),
            ]
        }
        return TextTable(header: header, rows: rows, textColumns: 2).render()
    }
}
