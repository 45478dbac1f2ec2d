import BenchSupport
import Foundation
import GRDB
import Logging
import PostgresKit
import PostgresNIO
import ResticManagerServer
import SQLiteKit
import SQLiteNIO
import Synchronization

/// One way of writing and reading the store's hottest rows: batches of log
/// lines into `job_logs`, and a job page's newest 200 lines.
///
/// Every driver gets the same jobs, the same payloads and the same batch
/// size; they differ only in the library and the SQL it sends.
protocol StoreDriver: Sendable {
    var name: String { get }
    var engine: StoreEngine { get }
    /// Empties the tables (creating them if needed) and adds one host with `jobIDs` running jobs.
    func prepare(jobIDs: [String]) async throws
    /// Inserts lines `firstSeq ..< firstSeq + count` of `jobID` in one transaction.
    func insertBatch(jobID: String, firstSeq: Int64, count: Int) async throws
    /// Reads the newest 200 lines of `jobID` as a job page does; returns the row count.
    func readNewest(jobID: String) async throws -> Int
    func close() async throws
}

enum StoreEngine: String, Sendable {
    case sqlite = "SQLite"
    case postgres = "PostgreSQL"
}

/// The columns every driver writes, as the server's ingest does.
private enum LogRow {
    static let columns = ["job_id", "seq", "ts", "stream", "payload"]
    static let newestLimit = 200
}

/// The SQLKit drivers' code, the same for both engines: only how a time is
/// bound and read differs (fixed-width text on SQLite, `TIMESTAMPTZ` on PostgreSQL).
private enum SQLKitLogRows {
    static func insert(
        on sql: any SQLDatabase, jobID: String, seqs: Range<Int64>,
        time: (Date) -> any Encodable & Sendable
    ) async throws {
        var insert = sql.insert(into: "job_logs").columns(LogRow.columns).ignoringConflicts()
        for seq in seqs {
            insert = insert.values([jobID, seq, time(Date()), "stdout", LogLineSample.payload(seq: seq)])
        }
        try await insert.run()
    }

    static func readNewest<Time: Decodable>(on sql: any SQLDatabase, jobID: String, timesAs: Time.Type) async throws -> Int {
        let rows = try await sql.select().columns("seq", "ts", "stream", "payload").from("job_logs")
            .where("job_id", .equal, jobID).orderBy("seq", .descending).limit(LogRow.newestLimit).all()
        for row in rows {
            _ = try row.decode(column: "seq", as: Int64.self)
            _ = try row.decode(column: "ts", as: Time.self)
            _ = try row.decode(column: "stream", as: String.self)
            _ = try row.decode(column: "payload", as: String.self)
        }
        return rows.count
    }
}

// MARK: SQLite

/// Today's store: GRDB, one prepared statement executed per line, in the
/// server's connection settings and migrated schema (the ingest baseline).
struct GRDBDriver: StoreDriver {
    let name = "GRDB, prepared statement per line"
    let engine = StoreEngine.sqlite
    let pool: DatabasePool

    init(path: String) throws {
        _ = try AppDatabase.open(path: path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    func prepare(jobIDs: [String]) async throws {
        try await pool.write { db in
            for statement in SQLiteSeed.statements(jobIDs: jobIDs) {
                try db.execute(sql: statement.sql, arguments: StatementArguments(statement.binds))
            }
        }
    }

    func insertBatch(jobID: String, firstSeq: Int64, count: Int) async throws {
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO job_logs (job_id, seq, ts, stream, payload) VALUES (?, ?, ?, ?, ?)")
            for seq in firstSeq..<firstSeq + Int64(count) {
                try statement.execute(arguments: [
                    jobID, seq, StoredDate.text(Date()), "stdout", LogLineSample.payload(seq: seq),
                ])
            }
        }
    }

    func readNewest(jobID: String) async throws -> Int {
        try await pool.read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT seq, ts, stream, payload FROM job_logs WHERE job_id = ? ORDER BY seq DESC LIMIT ?",
                arguments: [jobID, LogRow.newestLimit])
            var count = 0
            while let row = try rows.next() {
                let _: Int64 = row[0]
                let _: String = row[1]
                let _: String = row[2]
                let _: String = row[3]
                count += 1
            }
            return count
        }
    }

    func close() async throws { try pool.close() }
}

/// SQLKit over sqlite-nio: the "one layer over both engines" option, on SQLite.
/// One multi-row insert per batch, built by SQLKit's builder.
final class SQLiteKitDriver: StoreDriver, @unchecked Sendable {
    let name = "SQLiteKit (SQLKit), multi-row insert"
    let engine = StoreEngine.sqlite
    // Set once in `open`, before any use; the connection serialises its own calls.
    private let connection: SQLiteNIO.SQLiteConnection

    private init(connection: SQLiteNIO.SQLiteConnection) { self.connection = connection }

    static func open(path: String) async throws -> SQLiteKitDriver {
        _ = try AppDatabase.open(path: path)
        let connection = try await SQLiteNIO.SQLiteConnection.open(storage: .file(path: path))
        let driver = SQLiteKitDriver(connection: connection)
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"] {
            _ = try await connection.query(pragma)
        }
        return driver
    }

    private var sql: any SQLDatabase { connection.sql() }

    func prepare(jobIDs: [String]) async throws {
        for statement in SQLiteSeed.statements(jobIDs: jobIDs) {
            _ = try await connection.query(statement.sql, statement.binds.map(Self.data))
        }
    }

    func insertBatch(jobID: String, firstSeq: Int64, count: Int) async throws {
        try await sql.raw("BEGIN").run()
        do {
            try await SQLKitLogRows.insert(on: sql, jobID: jobID, seqs: firstSeq..<firstSeq + Int64(count)) {
                StoredDate.text($0)
            }
            try await sql.raw("COMMIT").run()
        } catch {
            try? await sql.raw("ROLLBACK").run()
            throw error
        }
    }

    func readNewest(jobID: String) async throws -> Int {
        try await SQLKitLogRows.readNewest(on: sql, jobID: jobID, timesAs: String.self)
    }

    func close() async throws { try await connection.close() }

    private static func data(_ value: any Sendable) -> SQLiteData {
        switch value {
        case let text as String: .text(text)
        case let number as Int64: .integer(Int(number))
        default: .null
        }
    }
}

/// The seed rows, in SQLite's schema (the server's migrated one); deleting
/// the hosts empties `jobs` and `job_logs` through their cascades.
private enum SQLiteSeed {
    static func statements(jobIDs: [String]) -> [(sql: String, binds: [any Sendable & DatabaseValueConvertible])] {
        let hostID = UUID().uuidString.lowercased()
        let now = StoredDate.text(Date())
        var statements: [(sql: String, binds: [any Sendable & DatabaseValueConvertible])] = [
            ("DELETE FROM hosts", []),
            ("INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES (?, 'bench', 'bench', ?, ?)",
             [hostID, UUID().uuidString, now]),
        ]
        for jobID in jobIDs {
            statements.append((
                "INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, started_at) VALUES (?, ?, 'backup', 'schedule', 'running', ?, ?)",
                [jobID, hostID, now, now]
            ))
        }
        return statements
    }
}

// MARK: PostgreSQL

/// The three tables the workload touches, as the store's migrations would
/// translate them: `TEXT` ids, `TIMESTAMPTZ` times, the same keys and the
/// same cascade.
private enum PostgresSchema {
    static let statements = [
        "DROP TABLE IF EXISTS job_logs, jobs, hosts",
        """
        CREATE TABLE hosts (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, hostname TEXT NOT NULL,
            agent_token_hash TEXT NOT NULL, enrolled_at TIMESTAMPTZ NOT NULL)
        """,
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL, trigger TEXT NOT NULL, status TEXT NOT NULL,
            queued_at TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ)
        """,
        """
        CREATE TABLE job_logs (
            job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq BIGINT NOT NULL,
            ts TIMESTAMPTZ NOT NULL, stream TEXT NOT NULL, payload TEXT NOT NULL,
            PRIMARY KEY (job_id, seq))
        """,
    ]

    static func prepare(_ client: PostgresClient, jobIDs: [String], logger: Logger) async throws {
        try await client.withConnection { connection in try await prepare(connection, jobIDs: jobIDs, logger: logger) }
    }

    static func prepare(_ connection: PostgresConnection, jobIDs: [String], logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            let hostID = UUID().uuidString.lowercased()
            let token = UUID().uuidString
            let now = Date()
            try await connection.query(
                "INSERT INTO hosts (id, name, hostname, agent_token_hash, enrolled_at) VALUES (\(hostID), 'bench', 'bench', \(token), \(now))",
                logger: logger)
            for jobID in jobIDs {
                try await connection.query(
                    "INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, started_at) VALUES (\(jobID), \(hostID), 'backup', 'schedule', 'running', \(now), \(now))",
                    logger: logger)
            }
        }
    }
}

/// How a PostgreSQL driver sends one batch.
enum PostgresBatchShape: String, Sendable {
    /// One `INSERT` per line, each a round trip: GRDB's shape, ported as is.
    case perLine = "postgres-nio, INSERT per line"
    /// One `INSERT … SELECT FROM unnest($1::text[], …)`: five array binds per batch.
    case unnest = "postgres-nio, unnest arrays"
    /// One multi-row `INSERT … VALUES (…), (…)` built by SQLKit, as on SQLite.
    case sqlKit = "PostgresKit (SQLKit), multi-row insert"
}

/// PostgreSQL through a postgres-nio connection pool (`PostgresClient`),
/// run by a task of its own for the driver's lifetime.
final class PostgresDriver: StoreDriver, @unchecked Sendable {
    let engine = StoreEngine.postgres
    let shape: PostgresBatchShape
    var name: String { shape.rawValue }
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger = Logger(label: "bench.postgres")

    init(url: PostgresURL, shape: PostgresBatchShape) {
        self.shape = shape
        let client = PostgresClient(configuration: url.pool)
        self.client = client
        runner = Task { await client.run() }
    }

    func prepare(jobIDs: [String]) async throws {
        try await PostgresSchema.prepare(client, jobIDs: jobIDs, logger: logger)
    }

    func insertBatch(jobID: String, firstSeq: Int64, count: Int) async throws {
        let seqs = Array(firstSeq..<firstSeq + Int64(count))
        try await client.withTransaction(logger: logger) { connection in
            switch shape {
            case .perLine:
                for seq in seqs {
                    let now = Date()
                    let payload = LogLineSample.payload(seq: seq)
                    try await connection.query(
                        "INSERT INTO job_logs (job_id, seq, ts, stream, payload) VALUES (\(jobID), \(seq), \(now), 'stdout', \(payload)) ON CONFLICT DO NOTHING",
                        logger: logger)
                }
            case .unnest:
                let jobIDs = [String](repeating: jobID, count: count)
                let times = seqs.map { _ in Date() }
                let streams = [String](repeating: "stdout", count: count)
                let payloads = seqs.map(LogLineSample.payload(seq:))
                try await connection.query(
                    """
                    INSERT INTO job_logs (job_id, seq, ts, stream, payload)
                    SELECT * FROM unnest(\(jobIDs)::text[], \(seqs)::int8[], \(times)::timestamptz[], \(streams)::text[], \(payloads)::text[])
                    ON CONFLICT DO NOTHING
                    """,
                    logger: logger)
            case .sqlKit:
                try await SQLKitLogRows.insert(on: connection.sql(), jobID: jobID, seqs: firstSeq..<firstSeq + Int64(count)) {
                    $0
                }
            }
        }
    }

    func readNewest(jobID: String) async throws -> Int {
        switch shape {
        case .perLine, .unnest:
            let rows = try await client.query(
                "SELECT seq, ts, stream, payload FROM job_logs WHERE job_id = \(jobID) ORDER BY seq DESC LIMIT \(LogRow.newestLimit)",
                logger: logger)
            var count = 0
            for try await _ in rows.decode((Int64, Date, String, String).self) { count += 1 }
            return count
        case .sqlKit:
            return try await client.withConnection { connection in
                try await SQLKitLogRows.readNewest(on: connection.sql(), jobID: jobID, timesAs: Date.self)
            }
        }
    }

    func close() async throws {
        runner.cancel()
        await runner.value
    }
}

/// `postgres://user:password@host:port/database`, read once for both kinds of client.
struct PostgresURL {
    let host: String
    let port: Int
    let user: String
    let password: String?
    let database: String?

    init?(_ text: String) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme),
              let host = components.host, let user = components.user
        else { return nil }
        let database = String(components.path.drop(while: { $0 == "/" }))
        self.host = host
        port = components.port ?? 5432
        self.user = user
        password = components.password?.removingPercentEncoding
        self.database = database.isEmpty ? nil : database
    }

    var pool: PostgresClient.Configuration {
        .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }

    var connection: PostgresConnection.Configuration {
        .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }
}

/// The other way to keep one body per store method: write them against a
/// blocking transaction API, GRDB's own shape, and run PostgreSQL's behind
/// it. A thread of its own runs each batch and waits for postgres-nio's
/// calls one by one; this measures what that costs against awaiting them.
final class BlockingPostgresDriver: StoreDriver, @unchecked Sendable {
    let name = "postgres-nio behind a blocking facade, INSERT per line"
    let engine = StoreEngine.postgres
    // One connection, used by one batch at a time (the bench runs them in turn).
    private let connection: PostgresConnection
    private let logger = Logger(label: "bench.postgres.blocking")

    private init(connection: PostgresConnection) { self.connection = connection }

    static func open(url: PostgresURL) async throws -> BlockingPostgresDriver {
        let connection = try await PostgresConnection.connect(
            configuration: url.connection, id: 1, logger: Logger(label: "bench.postgres.blocking"))
        return BlockingPostgresDriver(connection: connection)
    }

    func prepare(jobIDs: [String]) async throws {
        try await PostgresSchema.prepare(connection, jobIDs: jobIDs, logger: logger)
    }

    func insertBatch(jobID: String, firstSeq: Int64, count: Int) async throws {
        try await onOwnThread { [connection, logger] in
            try Self.wait { try await connection.query("BEGIN", logger: logger) }
            for seq in firstSeq..<firstSeq + Int64(count) {
                let now = Date()
                let payload = LogLineSample.payload(seq: seq)
                try Self.wait {
                    try await connection.query(
                        "INSERT INTO job_logs (job_id, seq, ts, stream, payload) VALUES (\(jobID), \(seq), \(now), 'stdout', \(payload)) ON CONFLICT DO NOTHING",
                        logger: logger)
                }
            }
            try Self.wait { try await connection.query("COMMIT", logger: logger) }
            return 0
        }
    }

    func readNewest(jobID: String) async throws -> Int {
        try await onOwnThread { [connection, logger] in
            try Self.wait {
                let rows = try await connection.query(
                    "SELECT seq, ts, stream, payload FROM job_logs WHERE job_id = \(jobID) ORDER BY seq DESC LIMIT \(LogRow.newestLimit)",
                    logger: logger)
                var count = 0
                for try await _ in rows.decode((Int64, Date, String, String).self) { count += 1 }
                return count
            }
        }
    }

    func close() async throws { try await connection.close() }

    /// Runs `body` on a new thread, off the cooperative pool it blocks.
    @discardableResult
    private func onOwnThread(_ body: @escaping @Sendable () throws -> Int) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// Blocks this (non-pool) thread until `body` is done.
    @discardableResult
    private static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        Task {
            let outcome = await Result { try await body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
