import BenchSupport
import Foundation
import GRDB
import ResticManagerCrypto
import ResticManagerServer

/// The fleet of SPEC §12 written into a fresh data dir: hosts with a
/// schedule, a repository and an agent token the bench knows, finished jobs
/// spread over 120 days, and their log lines.
///
/// The server's own migrator creates the schema (`AppDatabase.open`); the
/// rows then go in through GRDB with prepared statements in large
/// transactions, because a million jobs through the store's one-at-a-time
/// ingest would take the better part of an hour. What the store's triggers
/// derive from finished jobs (`job_outcomes`, the hosts' summary columns) is
/// then filled by the statements its migrations backfill with
/// (`AppDatabase.recomputeSummaries`).
struct FleetSeeder {
    let databasePath: String
    let hosts: Int
    let jobs: Int
    let logLines: Int

    /// What the bench needs to find again in the seeded fleet.
    struct Fleet: Sendable {
        var agents: [EnrolledAgent]
        /// A job with log lines, for the job page.
        var sampleJobID: String
    }

    static let history: TimeInterval = 120 * 86_400
    private static let rowsPerTransaction = 50_000

    func seed() throws -> Fleet {
        _ = try AppDatabase.open(path: databasePath)
        var configuration = Configuration()
        // The bench owns the file until the server starts: no fsync needed.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA cache_size = -262144")
        }
        let queue = try DatabaseQueue(path: databasePath, configuration: configuration)
        let now = Date()
        let agents = try seedHosts(queue, now: now)
        let sampleJob = try seedJobs(queue, agents: agents, now: now)
        try queue.write { db in try AppDatabase.recomputeSummaries(in: db) }
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        return Fleet(agents: agents, sampleJobID: sampleJob)
    }

    /// A UUID-shaped id that sorts by `index`, so inserts append to the
    /// primary-key B-trees instead of landing all over a file larger than the cache.
    static func orderedID(_ family: UInt32, _ index: Int) -> String {
        let tail = String(index, radix: 16)
        let prefix = String(family, radix: 16)
        return String(repeating: "0", count: 8 - prefix.count) + prefix + "-0000-4000-8000-"
            + String(repeating: "0", count: 12 - tail.count) + tail
    }

    /// A well-formed agent token (`rmg_` + 43 base64url characters) the bench can rebuild.
    static func agentToken(_ index: Int) -> String {
        let digits = String(index)
        return "rmg_bench" + String(repeating: "0", count: 38 - digits.count) + digits
    }

    static func hostname(_ index: Int) -> String {
        let digits = String(index)
        return "bench-" + String(repeating: "0", count: 5 - min(5, digits.count)) + digits
    }

    private func seedHosts(_ queue: DatabaseQueue, now: Date) throws -> [EnrolledAgent] {
        let enrolled = StoredDate.text(now.addingTimeInterval(-Self.history - 86_400))
        // Seen a minute ago: no host is offline long enough for an alert
        // (15 min) before its agent connects.
        let lastSeen = StoredDate.text(now.addingTimeInterval(-60))
        var agents: [EnrolledAgent] = []
        try queue.write { db in
            let host = try db.makeStatement(sql: """
                INSERT INTO hosts (id, name, hostname, os, arch, agent_version, restic_version, agent_token_hash,
                    enrolled_at, last_seen_at, connected, timezone)
                VALUES (?, ?, ?, 'linux', 'amd64', 'bench', '0.17.3', ?, ?, ?, 0, 'UTC')
                """)
            let config = try db.makeStatement(sql: """
                INSERT INTO host_config (host_id, repo_url, updated_at) VALUES (?, ?, ?)
                """)
            let schedule = try db.makeStatement(sql: """
                INSERT INTO schedules (id, host_id, kind, cron_expr, paths, created_at, updated_at, runs_expected_since)
                VALUES (?, ?, 'backup', '0 2 * * *', '["/srv"]', ?, ?, ?)
                """)
            let version = try db.makeStatement(sql: """
                INSERT INTO host_schedule_version (host_id, desired_version, acked_version, acked_at, desired_at)
                VALUES (?, 1, 1, ?, ?)
                """)
            for index in 0..<hosts {
                let id = Self.orderedID(0x1000_0000, index)
                let name = Self.hostname(index)
                let token = Self.agentToken(index)
                try host.execute(arguments: [id, name, name, Tokens.hash(token), enrolled, lastSeen])
                try config.execute(arguments: [id, "/srv/restic/\(name)", enrolled])
                try schedule.execute(arguments: [Self.orderedID(0x2000_0000, index), id, enrolled, enrolled, enrolled])
                try version.execute(arguments: [id, enrolled, enrolled])
                agents.append(EnrolledAgent(hostID: id, agentToken: token, hostname: name))
            }
        }
        return agents
    }

    /// Job `index` belongs to host `index % hosts` and finished `index / jobs`
    /// of the way from 120 days ago to now: every host has a history and a
    /// recent last backup. Seven in ten are scheduled backups; 85 % succeed.
    private func seedJobs(_ queue: DatabaseQueue, agents: [EnrolledAgent], now: Date) throws -> String {
        let start = now.addingTimeInterval(-Self.history)
        let linesPerJob = jobs > 0 ? logLines / jobs : 0
        let extraLines = jobs > 0 ? logLines % jobs : 0
        var index = 0
        while index < jobs {
            let end = min(jobs, index + max(1, Self.rowsPerTransaction / (linesPerJob + 2)))
            try queue.write { db in
                let job = try db.makeStatement(sql: """
                    INSERT INTO jobs (id, host_id, schedule_id, kind, trigger, status, queued_at, accepted_at,
                        started_at, finished_at, exit_code, stats, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let line = try db.makeStatement(sql: """
                    INSERT INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, 'stdout', ?)
                    """)
                for number in index..<end {
                    let hostIndex = number % max(1, agents.count)
                    let id = Self.orderedID(0x3000_0000, number)
                    let started = start.addingTimeInterval(Self.history * Double(number) / Double(jobs))
                    let finished = started.addingTimeInterval(Double(60 + number % 600))
                    let kind = Self.kinds[number % Self.kinds.count]
                    // A multiplicative hash spreads the statuses over hosts and time.
                    let roll = (UInt64(number) &* 2_654_435_761) % 100
                    let status = roll < 85 ? "succeeded" : roll < 95 ? "failed" : "cancelled"
                    let scheduled = kind == "backup"
                    try job.execute(arguments: [
                        id, agents[hostIndex].hostID, scheduled ? Self.orderedID(0x2000_0000, hostIndex) : nil,
                        kind, scheduled ? "schedule" : "manual", status, StoredDate.text(started),
                        StoredDate.text(started), StoredDate.text(started), StoredDate.text(finished),
                        status == "succeeded" ? 0 : 1,
                        kind == "backup" && status == "succeeded" ? #"{"data_added":\#(number * 1024),"files_new":12}"# : nil,
                        status == "failed" ? "Fatal: unable to open repository" : nil,
                    ])
                    let lines = linesPerJob + (number < extraLines ? 1 : 0)
                    for seq in stride(from: 1, through: lines, by: 1) {
                        try line.execute(arguments: [
                            id, seq, StoredDate.text(started.addingTimeInterval(Double(seq) / 1000)),
                            LogLineSample.payload(seq: Int64(seq)),
                        ])
                    }
                }
            }
            if end / 100_000 != index / 100_000 || end == jobs { progress("seeded \(end) of \(jobs) jobs") }
            index = end
        }
        return Self.orderedID(0x3000_0000, jobs / 2)
    }

    private static let kinds = ["backup", "backup", "backup", "backup", "backup", "backup", "backup", "forget", "check",
                                "prune"]
}
