import BenchSupport
import Foundation
import GRDB
import PostgresNIO
import ResticManagerServer

/// The ceiling the server is compared with, on each engine: log lines
/// inserted straight into `job_logs` of a store the server's own code
/// migrated, in batches of the server's size and each batch in one
/// transaction, round-robin over running jobs as concurrent agents send
/// them; no network to the server, no JSON, no acks. Each engine gets its
/// fastest raw batch (docs/postgresql.md): one prepared statement per line
/// on SQLite, one `unnest` statement per batch on PostgreSQL.
struct BaselineInserter {
    let store: StoreLocation
    let jobCount: Int
    let batchSize: Int

    /// The server's SQLite insert, verbatim; like the server, both engines
    /// bind timestamps as `StoredDate.text`.
    private static let sqliteInsert =
        "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, ?, ?)"

    /// A statement that is its own transaction: the one round trip a batch
    /// cannot do without (`BEGIN`/`COMMIT` around it would add two).
    private static let postgresInsert = """
        INSERT INTO job_logs (job_id, seq, ts, stream, payload)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
        ON CONFLICT DO NOTHING
        """

    func run(for duration: Duration) async throws -> ScenarioResult {
        guard let postgres = store.postgres else {
            let jobIDs = try await Self.createJobs(in: try AppDatabase.open(path: store.sqlitePath), count: jobCount)
            // A pool opened the way `AppDatabase.open(path:)` opens the file.
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(5)
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            let pool = try DatabasePool(path: store.sqlitePath, configuration: configuration)
            return try await insertBatches(jobIDs, for: duration) { jobID, seqs in
                try pool.write { db in
                    let statement = try db.cachedStatement(sql: Self.sqliteInsert)
                    for seq in seqs {
                        try statement.execute(arguments: [
                            jobID, seq, StoredDate.text(Date()), "stdout", LogLineSample.payload(seq: seq),
                        ])
                    }
                }
            }
        }
        let database = try await AppDatabase.connect(postgres, logger: PostgresServer.logger)
        let jobIDs: [String]
        do {
            jobIDs = try await Self.createJobs(in: database, count: jobCount)
            database.close()
        } catch {
            database.close()
            throw error
        }
        return try await PostgresServer.withConnection(to: postgres) { connection in
            try await insertBatches(jobIDs, for: duration) { jobID, seqs in
                var binds = PostgresBindings(capacity: 5)
                binds.append([String](repeating: jobID, count: seqs.count))
                binds.append(Array(seqs))
                binds.append(seqs.map { _ in StoredDate.text(Date()) })
                binds.append([String](repeating: "stdout", count: seqs.count))
                binds.append(seqs.map(LogLineSample.payload(seq:)))
                try await connection.query(
                    PostgresQuery(unsafeSQL: Self.postgresInsert, binds: binds), logger: PostgresServer.logger)
            }
        }
    }

    /// Batches go round-robin over the jobs, one job per batch, until `duration` is up.
    private func insertBatches(
        _ jobIDs: [String], for duration: Duration, _ insert: (String, Range<Int64>) async throws -> Void
    ) async throws -> ScenarioResult {
        var nextSeq = [Int64](repeating: 1, count: jobIDs.count)
        var lines = 0
        var batches = 0
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < duration {
            let job = batches % jobIDs.count
            try await insert(jobIDs[job], nextSeq[job]..<nextSeq[job] + Int64(batchSize))
            nextSeq[job] += Int64(batchSize)
            lines += batchSize
            batches += 1
        }
        return ScenarioResult(
            engine: store.engine, scenario: .baseline, agents: jobIDs.count, lines: lines, duration: clock.now - start)
    }

    /// One host and its jobs, made by the store's own methods on either
    /// engine: the rows the log lines' foreign keys name.
    private static func createJobs(in database: AppDatabase, count: Int) async throws -> [String] {
        let who = AuditActor(actor: "bench", ip: "127.0.0.1")
        let token = try await database.createEnrollmentToken(
            tokenHash: UUID().uuidString, note: "baseline", expiresAt: Date().addingTimeInterval(3600),
            replaceHostID: nil, by: who)
        guard
            let host = try await database.enroll(
                enrollmentTokenHash: token.tokenHash, hostname: "baseline", os: "linux", arch: "amd64", name: nil,
                agentTokenHash: UUID().uuidString, ip: who.ip)
        else { throw BenchError.store("the store refused the baseline's fresh enrollment token") }
        var jobIDs: [String] = []
        for _ in 0..<count {
            let job = try await database.createJob(
                hostID: host.id, scheduleID: nil, kind: .backup, trigger: .manual, args: [], expiresAfter: .seconds(3600),
                by: who)
            jobIDs.append(job.id.rawValue)
        }
        return jobIDs
    }
}
