import BenchSupport
import Foundation
import GRDB
import ResticManagerServer

/// The ceiling the server is compared with: log lines inserted straight
/// into `job_logs` of a freshly migrated store, with the server's connection
/// settings (WAL, `synchronous = NORMAL`, foreign keys), one transaction per
/// batch and one prepared statement — no network, no JSON, no acks.
struct BaselineInserter {
    let path: String
    let jobCount: Int
    let batchSize: Int

    /// The server's insert, verbatim; like the server, it binds timestamps
    /// as `StoredDate.text`.
    private static let insertSQL =
        "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, ?, ?)"

    func run(for duration: Duration) throws -> ScenarioResult {
        // The server's own migrator creates the schema; then this pool opens
        // the file the way `AppDatabase.open(path:)` does.
        _ = try AppDatabase.open(path: path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool = try DatabasePool(path: path, configuration: configuration)
        let jobIDs = try createJobs(in: pool)

        // Batches go round-robin over the jobs, one job per batch, as the
        // server sees them from concurrent agents.
        var nextSeq = [Int64](repeating: 1, count: jobIDs.count)
        var lines = 0
        var batches = 0
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < duration {
            let job = batches % jobIDs.count
            let firstSeq = nextSeq[job]
            try pool.write { db in
                let statement = try db.cachedStatement(sql: Self.insertSQL)
                for seq in firstSeq..<firstSeq + Int64(batchSize) {
                    try statement.execute(arguments: [
                        jobIDs[job], seq, StoredDate.text(Date()), "stdout", LogLineSample.payload(seq: seq),
                    ])
                }
            }
            nextSeq[job] += Int64(batchSize)
            lines += batchSize
            batches += 1
        }
        return ScenarioResult(scenario: .baseline, agents: jobIDs.count, lines: lines, duration: clock.now - start)
    }

    /// One host and its running jobs, so the log rows satisfy their foreign keys.
    private func createJobs(in pool: DatabasePool) throws -> [String] {
        let hostID = UUID().uuidString.lowercased()
        let jobIDs = (0..<jobCount).map { _ in UUID().uuidString.lowercased() }
        try pool.write { db in
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at)
                    VALUES (?, 'baseline', 'baseline', ?, ?)
                    """,
                arguments: [hostID, UUID().uuidString, now]
            )
            for jobID in jobIDs {
                try db.execute(
                    sql: """
                        INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, started_at)
                        VALUES (?, ?, 'backup', 'schedule', 'running', ?, ?)
                        """,
                    arguments: [jobID, hostID, now, now]
                )
            }
        }
        return jobIDs
    }
}
