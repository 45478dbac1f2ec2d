import Foundation
import GRDB
import Logging
import Testing

@testable import ResticManagerServer

/// Rows written straight into a real database file, with the ages the
/// sweep judges them by. Jobs are inserted running and then finished with
/// an UPDATE, as the server does, so the `job_outcomes` trigger sees them.
struct RetentionSeed {
    let database: AppDatabase
    let now = Date()

    func daysAgo(_ days: Double) -> String { StoredDate.text(now.addingTimeInterval(-days * 86400)) }

    func host(_ name: String) async throws -> String {
        let id = UUID().uuidString.lowercased()
        try await database.sqlite().write { db in
            try db.execute(
                sql: "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, name, name, UUID().uuidString, daysAgo(400)])
        }
        return id
    }

    /// A job that ended `days` ago with `status`, or one still queued or
    /// running (queued and started `days` ago), with `logs` log lines.
    @discardableResult
    func job(_ host: String, _ kind: String, _ status: String, days: Double, logs: Int = 3) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let at = daysAgo(days)
        try await database.sqlite().write { db in
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, started_at)
                    VALUES (?, ?, ?, 'schedule', ?, ?, ?)
                    """, arguments: [id, host, kind, status == "queued" ? "queued" : "running", at, at])
            if !["queued", "running"].contains(status) {
                try db.execute(sql: "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?", arguments: [status, at, id])
            }
            try insertLogs(db, job: id, count: logs, at: at)
        }
        return id
    }

    func insertLogs(_ db: Database, job: String, count: Int, at: String, payloadBytes: Int = 80) throws {
        guard count > 0 else { return }
        try db.execute(
            sql: """
                WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ?)
                INSERT INTO job_logs (job_id, seq, ts, stream, payload)
                SELECT ?, seq, ?, 'stdout', printf('%0*d', ?, seq) FROM n
                """, arguments: [count, job, at, payloadBytes])
    }

    /// `count` failed backups of `host` that ended between `days` and
    /// `days` + `count` seconds ago, each with `logs` lines, in one statement.
    func oldFailedJobs(_ host: String, count: Int, days: Double, logs: Int, payloadBytes: Int = 80) async throws {
        try await database.sqlite().write { db in
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
                    INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, finished_at)
                    SELECT :host || '-old-' || i, :host, 'backup', 'schedule', 'failed', t, t
                    FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%f', :start, '-' || i || ' seconds') AS t FROM n)
                    """, arguments: ["count": count, "host": host, "start": daysAgo(days)])
            if logs > 0 {
                try db.execute(
                    sql: """
                        WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < :logs)
                        INSERT INTO job_logs (job_id, seq, ts, stream, payload)
                        SELECT j.id, n.seq, j.finished_at, 'stdout', printf('%0*d', :bytes, n.seq)
                        FROM jobs j, n WHERE j.host_id = :host AND j.id LIKE :host || '-old-%'
                        """, arguments: ["logs": logs, "host": host, "bytes": payloadBytes])
            }
        }
    }

    func repoStats(_ host: String, days: Double) async throws -> Int64 {
        try await database.sqlite().write { db in
            try db.execute(
                sql: """
                    INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, lock_state)
                    VALUES (?, ?, 1, 1, 1, 'none')
                    """, arguments: [host, daysAgo(days)])
            return db.lastInsertedRowID
        }
    }

    func count(_ table: String, _ condition: String = "1", _ arguments: StatementArguments = []) async throws -> Int {
        try await database.sqlite().read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(condition)", arguments: arguments) ?? 0
        }
    }

    func pragma(_ name: String) async throws -> Int {
        try await database.sqlite().read { db in try Int.fetchOne(db, sql: "PRAGMA \(name)") ?? 0 }
    }
}

@Suite struct RetentionTests {
    func service(_ database: AppDatabase, batchSize: Int = RetentionService.defaultBatchSize) -> RetentionService {
        RetentionService(database: database, retention: .seconds(90 * 86400), interval: .seconds(3600),
                         lease: FleetLease(database: database, work: .retention, replica: .random(), duration: .seconds(60)),
                         batchSize: batchSize, logger: Logger(label: "test"))
    }

    @Test func keepsWhatTheFleetStillShowsAndDeletesTheRest() async throws {
        let temp = try TemporaryDatabase()
        let seed = RetentionSeed(database: temp.database)
        let a = try await seed.host("a")
        let b = try await seed.host("b")
        let olderSuccess = try await seed.job(a, "backup", "succeeded", days: 200)
        let lastSuccess = try await seed.job(a, "backup", "succeeded", days: 180)
        let oldFailures = [
            try await seed.job(a, "backup", "failed", days: 150), try await seed.job(a, "backup", "failed", days: 100),
        ]
        let recentFailure = try await seed.job(a, "backup", "failed", days: 1)
        let onlyCheck = try await seed.job(a, "check", "succeeded", days: 120)
        let cancelledForget = try await seed.job(a, "forget", "cancelled", days: 100)
        let lastForget = try await seed.job(a, "forget", "succeeded", days: 95)
        let queued = try await seed.job(a, "backup", "queued", days: 300)
        let running = try await seed.job(a, "prune", "running", days: 300)
        let otherHostsOnly = try await seed.job(b, "backup", "succeeded", days: 200)
        let statsA = [try await seed.repoStats(a, days: 200), try await seed.repoStats(a, days: 150),
                      try await seed.repoStats(a, days: 1)]
        let statsB = [try await seed.repoStats(b, days: 200), try await seed.repoStats(b, days: 150)]
        let summaryBefore = try await temp.database.hostSummary(id: HostID(a))

        let sweep = try await service(temp.database).sweep(now: seed.now)

        let deleted = [olderSuccess, cancelledForget] + oldFailures
        let kept = [lastSuccess, recentFailure, onlyCheck, lastForget, queued, running, otherHostsOnly]
        for id in deleted {
            #expect(try await seed.count("jobs", "id = ?", [id]) == 0, "job \(id) should be deleted")
            #expect(try await seed.count("job_logs", "job_id = ?", [id]) == 0)
        }
        for id in kept {
            #expect(try await seed.count("jobs", "id = ?", [id]) == 1, "job \(id) should be kept")
            #expect(try await seed.count("job_logs", "job_id = ?", [id]) == 3, "job \(id) should keep its logs")
        }
        #expect(sweep.jobs == deleted.count && sweep.logLines == 3 * deleted.count)
        let statsLeft = try await temp.database.sqlite().read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM repo_stats ORDER BY id")
        }
        #expect(statsLeft == [statsA[2], statsB[1]])
        #expect(sweep.repoStats == 3)
        // The host's last backup and last success read the same as before.
        let summaryAfter = try await temp.database.hostSummary(id: HostID(a))
        #expect(summaryAfter == summaryBefore)

        let again = try await service(temp.database).sweep(now: seed.now)
        #expect(again.jobs == 0 && again.logLines == 0 && again.repoStats == 0)
    }

    @Test func keepsTheJobAnAlertRuleReadsForEachSchedule() async throws {
        let temp = try TemporaryDatabase()
        let seed = RetentionSeed(database: temp.database)
        let host = try await seed.host("a")
        // Two schedules of one kind: each has its own job_outcomes row.
        let first = try await seed.job(host, "backup", "failed", days: 150)
        try await temp.database.sqlite().write { db in
            try db.execute(sql: "UPDATE job_outcomes SET subject = 'schedule-1', schedule_id = 'schedule-1'")
        }
        try await seed.job(host, "backup", "succeeded", days: 10)
        _ = try await service(temp.database).sweep(now: seed.now)
        #expect(try await seed.count("jobs", "id = ?", [first]) == 1)
    }

    @Test func aSweepIsManySmallTransactions() async throws {
        let temp = try TemporaryDatabase()
        let seed = RetentionSeed(database: temp.database)
        let host = try await seed.host("a")
        try await seed.oldFailedJobs(host, count: 12_000, days: 100, logs: 0)
        let bigLog = try await seed.job(host, "backup", "failed", days: 100, logs: 3_500)
        try await seed.job(host, "backup", "succeeded", days: 1)

        let sweep = try await service(temp.database, batchSize: 1_000).sweep(now: seed.now)

        #expect(sweep.jobs == 12_001 && sweep.logLines == 3_500)
        #expect(sweep.batches.allSatisfy { $0.rows <= 1_000 }, "\(sweep.batches.map(\.rows))")
        #expect(sweep.batches.count >= 16)
        #expect(try await seed.count("jobs") == 1)
        #expect(try await seed.count("job_logs", "job_id = ?", [bigLog]) == 0)
    }

    @Test func freedPagesGoBackToTheFileSystem() async throws {
        let temp = try TemporaryDatabase()
        let seed = RetentionSeed(database: temp.database)
        #expect(try await seed.pragma("auto_vacuum") == AppDatabase.incrementalAutoVacuum)
        let host = try await seed.host("a")
        try await seed.oldFailedJobs(host, count: 5_000, days: 100, logs: 4, payloadBytes: 500)
        try await seed.job(host, "backup", "succeeded", days: 1)
        let pagesBefore = try await seed.pragma("page_count")

        let sweep = try await service(temp.database).sweep(now: seed.now)

        #expect(sweep.freedPages > 0)
        #expect(try await seed.pragma("freelist_count") == 0)
        let pagesAfter = try await seed.pragma("page_count")
        #expect(pagesAfter * 4 < pagesBefore, "page_count \(pagesBefore) -> \(pagesAfter)")
    }

    @Test func anOlderFileIsConvertedToIncrementalVacuumOnce() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rm-vacuum-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        // A file made as releases before this one made it: tables, no auto_vacuum.
        let old = try DatabasePool(path: path)
        try await old.write { db in try db.execute(sql: "CREATE TABLE kept (value TEXT); INSERT INTO kept VALUES ('x')") }
        try old.close()

        let database = try AppDatabase.open(path: path)
        #expect(try await database.needsIncrementalVacuumConversion())
        try await RetentionService.enableIncrementalVacuum(database, logger: Logger(label: "test"))
        #expect(try await database.needsIncrementalVacuumConversion() == false)
        let value = try await database.sqlite().read { db in try String.fetchOne(db, sql: "SELECT value FROM kept") }
        #expect(value == "x")
        #expect(try await AppDatabase.open(path: path).needsIncrementalVacuumConversion() == false)
    }

    @Test func theSweepSeeksIndexesAndScansNoTable() async throws {
        let temp = try TemporaryDatabase()
        let plans = try await temp.database.sqlite().read { db in
            try [AppDatabase.expiredJobsSQL(.sqlite), AppDatabase.expiredRepoStatsSQL].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: [Date(), "", -1, 10]).map { $0["detail"] as String }.joined(separator: "\n")
            }
        }
        #expect(plans[0].contains("USING INDEX jobs_finished"), "\(plans[0])")
        #expect(plans[0].contains("jobs_host_kind_finished"), "\(plans[0])")
        #expect(plans[1].contains("USING INDEX repo_stats_reported"), "\(plans[1])")
        for plan in plans {
            #expect(!plan.contains("SCAN"), "\(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "sorting instead of reading in index order: \(plan)")
        }
    }

    /// How long one sweep of 100,000 old jobs with 1,000,000 log lines
    /// takes (docs/decisions.md quotes it). Only with RM_RETENTION_BENCH=1;
    /// it asserts what was deleted, never how fast.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RM_RETENTION_BENCH"] == "1"))
    func measureASweepOfAMillionLogLines() async throws {
        let temp = try TemporaryDatabase()
        let seed = RetentionSeed(database: temp.database)
        let hosts = 100
        for index in 0..<hosts {
            let host = try await seed.host("h\(index)")
            try await seed.oldFailedJobs(host, count: 1_000, days: 100, logs: 10)
            try await seed.job(host, "backup", "succeeded", days: 1, logs: 0)
        }
        let pagesBefore = try await seed.pragma("page_count")
        let started = ContinuousClock.now
        let sweep = try await service(temp.database).sweep(now: seed.now)
        let took = ContinuousClock.now - started
        print("retention sweep: \(sweep.jobs) jobs, \(sweep.logLines) log lines in \(sweep.batches.count) batches,",
              "\(sweep.freedPages) pages freed (\(pagesBefore) -> \(try await seed.pragma("page_count"))) in \(took),",
              "\(sweep.busy) of it in transactions")
        #expect(sweep.jobs == hosts * 1_000 && sweep.logLines == hosts * 10_000)
    }
}
