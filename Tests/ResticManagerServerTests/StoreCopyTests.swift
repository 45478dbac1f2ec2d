import Foundation
import GRDB
import Logging
import ResticManagerCrypto
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// `migrate-to` (SPEC §12): an SQLite installation built through the store's
/// own write paths, copied into a fresh PostgreSQL database, reads the same
/// through every read method and holds the same rows, column by column.
/// The copies need `RM_TEST_POSTGRES`; the checks before any copy do not.
@Suite struct StoreCopyTests {
    let ingest = IngestTests()
    let alertStore = AlertStoreTests()
    static let key = SecretBox(key: try! SecretKey(bytes: Array(repeating: 3, count: SecretKey.byteCount)))

    /// A data dir with an SQLite database of a fleet that did a bit of
    /// everything: users and their sessions and tokens, enrolled hosts with
    /// sealed config, schedules, jobs with more log lines than one insert
    /// carries, snapshots, stats, alerts and their notifications, a channel
    /// with sealed secrets, a changed alert rule, the key seal and the audit
    /// rows of all of it.
    func installation(now: Date) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rm-copy-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try AppDatabase.open(path: StoreCopy.sqlitePath(dataDirectory: directory))
        _ = try await FleetSummaryTests().randomFleet(seed: 21, hosts: 9, now: now, on: database)
        let admin = try await database.createUser(username: "admin", passwordHash: "hash-a", role: .admin, by: .system)
        let viewer = try await database.createUser(username: "vera", passwordHash: "hash-v", role: .viewer, by: .system)
        _ = try await database.createUser(username: "olga", passwordHash: "hash-o", role: .operator, by: .system)
        _ = try await database.updateUser(id: viewer.id, disabled: true, by: .system)
        try await database.recordLogin(
            userID: admin.id,
            rehashedPassword: nil,
            by: AuditActor(actor: "admin", ip: "10.0.0.1")
        )
        try await database.createSession(
            userID: admin.id,
            tokenHash: Tokens.issue(.session).hash,
            lifetime: .seconds(3600),
            userAgent: "test",
            ip: "10.0.0.1"
        )
        _ = try await database.createAPIToken(
            userID: admin.id,
            name: "ci",
            tokenHash: Tokens.issue(.api).hash,
            expiresAt: nil,
            by: .system
        )
        _ = try await database.createChannel(
            id: .random(),
            ChannelChange(
                name: "ops",
                enabled: true,
                events: NotificationEvent.subscribable,
                settings: .webhook(WebhookConfig(url: "http://127.0.0.1:9/hook")),
                secretsSealed: [1, 2, 3, 0, 255]
            ),
            by: .system
        )
        var rule = AlertRuleSettings.defaults(.backupStale)
        rule.thresholdMinutes = 90.5
        try await database.setAlertRule(rule, by: .system)
        #expect(try await database.keyMatchesSeal(Self.key))

        let host = try #require(try await ingest.enrolledHost(database, hostname: "logs"))
        _ = try await database.updateHostConfig(
            hostID: host,
            change: HostConfigChange(repoURL: "/srv/logs", repoPasswordSealed: .some([9, 8, 7])),
            by: .system
        )
        let job = try await database.createJob(
            hostID: host,
            scheduleID: nil,
            kind: .backup,
            trigger: .manual,
            args: ["/etc"],
            expiresAfter: .seconds(600),
            by: .system
        )
        // 2,500 lines: the copy's inserts carry 1,000 rows, so this crosses two.
        _ = try await database.ingest(
            hostID: host,
            envelopes: (1...2_500).map { ingest.logLine(job.id, seq: Int64($0)) }
        )
        _ = try await database.ingest(
            hostID: host,
            envelopes: [
                Envelope(
                    message: .snapshotsReport(
                        SnapshotsReportPayload(
                            snapshots: (0..<3).map {
                                Snapshot(
                                    id: "snap\($0)",
                                    time: now.addingTimeInterval(Double(-$0 * 3600)),
                                    hostname: "logs",
                                    paths: ["/etc"],
                                    tags: ["t\($0)"],
                                    sizeBytes: 1_000 + Int64($0),
                                    fileCount: 10
                                )
                            }
                        )
                    )
                ),
                Envelope(
                    message: .repoStats(
                        RepoStatsPayload(sizeBytes: 4_096, snapshotCount: 3, dedupRatio: 1.75, lockState: "unlocked")
                    )
                ),
                Envelope(
                    message: .jobFinished(
                        JobFinishedPayload(jobID: job.id.rawValue, status: .succeeded, exitCode: 0, finishedAt: now)
                    )
                ),
            ]
        )
        _ = try await database.applyAlerts(
            alertStore.condition(.hostOffline, host),
            rules: try await database.alertRules(),
            now: now
        )
        // A summary the triggers would recompute otherwise as the alert row
        // arrives: the copy keeps what SQLite holds.
        try await database.write { tx in try tx.execute("UPDATE hosts SET open_alerts = 5 WHERE id = ?", [host]) }
        return directory
    }

    /// Copies `directory`'s database into a fresh PostgreSQL database.
    func copied(_ directory: String) async throws -> (PostgresURL, StoreCopyReport) {
        let url = try #require(try await AppDatabase.freshPostgresDatabase())
        let report = try await StoreCopy.sqliteToPostgres(
            dataDirectory: directory,
            postgres: url,
            logger: Logger(label: "test")
        )
        return (url, report)
    }

    @Test(.enabled(if: TestEngine.isPostgres))
    func everyReadMethodAnswersTheSameAfterTheCopy() async throws {
        let now = Date()
        let directory = try await installation(now: now)
        let (url, report) = try await copied(directory)
        let source = try AppDatabase.open(path: StoreCopy.sqlitePath(dataDirectory: directory))
        let target = try await AppDatabase.connect(url, logger: Logger(label: "test"))
        defer { target.close() }
        let same = Comparison(source: source, target: target)

        #expect(report.tables.allSatisfy { $0.sourceRows == $0.targetRows })
        #expect(report.tables.first { $0.name == "job_logs" }?.targetRows == 2_500)
        let filled = Set(report.tables.filter { $0.targetRows > 0 }.map(\.name))
        let covered: Set = [
            "users", "sessions", "api_tokens", "hosts", "enrollment_tokens", "host_config", "schedules",
            "host_schedule_version", "jobs", "job_logs", "snapshots", "repo_stats", "processed_messages", "audit_log",
            "alert_rules", "alerts", "notification_channels", "notifications", "job_outcomes", "store_seal",
        ]
        #expect(filled.isSuperset(of: covered), "the installation left \(covered.subtracting(filled).sorted()) empty")
        try await same("users") { try await $0.allUsers() }
        try await same("user pages") { db in try await pages { try await db.listUsers(page: $0) } }
        try await same("host pages") { db in try await pages { try await db.listHosts(page: $0, now: now) } }
        try await same("fleet page") { db in
            let page = try await db.fleetPage(filter: HostFilter(), offset: 0, limit: 100, now: now)
            return FleetPageContents(counts: page.counts, matching: page.matching, hosts: page.hosts)
        }
        try await same("job pages") { db in try await pages { try await db.listJobs(filter: JobFilter(), page: $0) } }
        try await same("audit pages") { db in try await pages { try await db.auditLog(page: $0) } }
        try await same("alert pages") { db in try await pages { try await db.alerts(filter: AlertFilter(), page: $0) } }
        try await same("enrollment token pages") { db in try await pages { try await db.listEnrollmentTokens(page: $0) }
        }
        try await same("channel pages") { db in try await pages { try await db.channels(page: $0) } }
        try await same("alert rules") { try await $0.alertRules() }
        for user in try await source.allUsers() {
            try await same("tokens of \(user.username)") { db in
                try await pages { try await db.listAPITokens(userID: user.id, page: $0) }
            }
        }
        for job in try await pages({ try await source.listJobs(filter: JobFilter(), page: $0) }).items {
            try await same("logs of \(job.id)") { try await $0.jobLogs(jobID: job.id, afterSeq: 0, limit: 10_000) }
        }
        for host in try await source.activeHosts() {
            try await same("summary of \(host.id)") { try await $0.hostSummary(id: host.id, now: now) }
            try await same("config of \(host.id)") { try await $0.hostConfig(hostID: host.id) }
            try await same("schedules of \(host.id)") { try await $0.schedules(hostID: host.id) }
            try await same("schedule version of \(host.id)") { try await $0.scheduleVersion(hostID: host.id) }
            try await same("snapshots of \(host.id)") { db in
                try await pages { try await db.snapshots(hostID: host.id, page: $0) }
            }
            try await same("stats of \(host.id)") { db in
                try await pages { try await db.repoStats(hostID: host.id, page: $0) }
            }
        }
        #expect(try await target.keyMatchesSeal(Self.key), "the seal moved with the data: the same secret.key opens it")
        try await expectSameRows(source: source, target: target)
    }

    @Test(.enabled(if: TestEngine.isPostgres))
    func newRowsAfterTheCopyComeFirstAndCollideWithNothing() async throws {
        let directory = try await installation(now: Date())
        let (url, _) = try await copied(directory)
        let target = try await AppDatabase.connect(url, logger: Logger(label: "test"))
        defer { target.close() }
        let host = try #require(try await target.activeHosts().first)
        let user = try await target.createUser(username: "newcomer", passwordHash: "h", role: .viewer, by: .system)
        let job = try await target.createJob(
            hostID: host.id,
            scheduleID: nil,
            kind: .check,
            trigger: .api,
            args: [],
            expiresAfter: .seconds(60),
            by: .system
        )
        try await target.write { tx in
            try tx.execute(
                "INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, lock_state) VALUES (?, ?, 1, 1, 1, 'unlocked')",
                [host.id, Date()]
            )
        }
        #expect(try await target.listUsers(page: Page(limit: 1)).items.first?.id == user.id)
        #expect(try await target.listJobs(filter: JobFilter(), page: Page(limit: 1)).items.first?.id == job.id)
        #expect(try await target.auditLog(page: Page(limit: 1)).items.first?.action == "job.create")
        #expect(try await target.repoStats(hostID: host.id, page: Page(limit: 1)).items.first?.sizeBytes == 1)
    }

    @Test(.enabled(if: TestEngine.isPostgres))
    func aSecondCopyIntoTheSameDatabaseIsRefusedAndChangesNothing() async throws {
        let directory = try await installation(now: Date())
        let (url, first) = try await copied(directory)
        let error = await #expect(throws: StoreCopyError.self) {
            try await StoreCopy.sqliteToPostgres(dataDirectory: directory, postgres: url, logger: Logger(label: "test"))
        }
        guard case .targetHoldsData(let database, let tables) = error else {
            Issue.record("expected a refusal of a database holding data, got \(String(describing: error))")
            return
        }
        #expect(database == url.description && tables.contains("users") && tables.contains("jobs"))
        #expect(error?.description.contains(url.password ?? "no password") == false)
        let target = try await AppDatabase.connect(url, logger: Logger(label: "test"))
        defer { target.close() }
        for table in first.tables {
            #expect(
                try await target.read { tx in try tx.count("SELECT COUNT(*) FROM \(table.name)") } == table.targetRows
            )
        }
    }

    @Test(.enabled(if: TestEngine.isPostgres))
    func aValuePostgreSQLCannotHoldStopsTheCopyAndKeepsNothing() async throws {
        let directory = try await installation(now: Date())
        try await AppDatabase.open(path: StoreCopy.sqlitePath(dataDirectory: directory)).sqlite().write { db in
            // An INTEGER column keeps text that is no number, as text.
            try db.execute(sql: "UPDATE jobs SET exit_code = 'none' WHERE rowid = (SELECT MIN(rowid) FROM jobs)")
        }
        let url = try #require(try await AppDatabase.freshPostgresDatabase())
        let error = await #expect(throws: StoreCopyError.self) {
            try await StoreCopy.sqliteToPostgres(dataDirectory: directory, postgres: url, logger: Logger(label: "test"))
        }
        guard case .unconvertible(table: "jobs", column: "exit_code", _, type: "bigint") = error else {
            Issue.record("expected jobs.exit_code to be refused, got \(String(describing: error))")
            return
        }
        let target = try await AppDatabase.connect(url, logger: Logger(label: "test"))
        defer { target.close() }
        try await target.read { tx in try StoreCopy.refuseHeldData(tx, url: url) }
    }

    // MARK: Before any copy: no PostgreSQL needed

    /// Never contacted: every check here fails before the copy connects.
    static let unreachable = try! PostgresURL("postgres://nobody@127.0.0.1:9/never")

    @Test func theCopyOrderHasEveryTableAfterTheTablesItRefersTo() async throws {
        let tables = try await AppDatabase.inMemory().sqlite().read { db in try SourceTable.all(db) }
        let ordered = try SourceTable.parentsFirst(tables)
        #expect(Set(ordered.map(\.name)) == Set(tables.map(\.name)))
        #expect(ordered.count == tables.count)
        for table in ["users", "hosts", "jobs", "job_logs", "audit_log", "job_outcomes", "notifications"] {
            #expect(ordered.contains { $0.name == table }, "\(table) is copied")
        }
        #expect(!ordered.contains { $0.name.hasPrefix("grdb_") || $0.name.hasPrefix("sqlite_") })
        for (index, table) in ordered.enumerated() {
            let earlier = Set(ordered[..<index].map(\.name))
            #expect(table.parents.isSubset(of: earlier), "\(table.name) comes after \(table.parents.sorted())")
        }
        #expect(ordered.first { $0.name == "job_logs" }?.parents == ["jobs"])
    }

    @Test func tablesReferringToEachOtherAreACycleNotALoop() {
        let a = SourceTable(name: "a", columns: ["id"], parents: ["b"])
        let b = SourceTable(name: "b", columns: ["id"], parents: ["a"])
        let c = SourceTable(name: "c", columns: ["id"], parents: [])
        #expect(throws: StoreCopyError.foreignKeyCycle(tables: ["a", "b"])) { try SourceTable.parentsFirst([a, b, c]) }
    }

    @Test func aMissingFileAnOlderSchemaAndAForeignFileAreRefusedFirst() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rm-copy-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = StoreCopy.sqlitePath(dataDirectory: directory)
        await #expect(throws: StoreCopyError.noSource(path: path)) {
            try await StoreCopy.sqliteToPostgres(
                dataDirectory: directory,
                postgres: Self.unreachable,
                logger: Logger(label: "test")
            )
        }
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "CREATE TABLE notes (text TEXT)") }
        await #expect(throws: StoreCopyError.notAStore(path: path)) {
            try await StoreCopy.sqliteToPostgres(
                dataDirectory: directory,
                postgres: Self.unreachable,
                logger: Logger(label: "test")
            )
        }
        try FileManager.default.removeItem(atPath: path)
        try Migrations.migrator.migrate(try DatabaseQueue(path: path), upTo: "v3-restore")
        await #expect(throws: StoreCopyError.sourceBehind(path: path, migration: "v4-fleet-summaries")) {
            try await StoreCopy.sqliteToPostgres(
                dataDirectory: directory,
                postgres: Self.unreachable,
                logger: Logger(label: "test")
            )
        }
    }

    @Test func valuesKeepTheirStorageClassOrAreRefused() {
        #expect(ColumnStorage(postgresType: "bigint").converted(Int64(5).databaseValue) == Int64(5).databaseValue)
        #expect(ColumnStorage(postgresType: "bigint").converted(2.0.databaseValue) == Int64(2).databaseValue)
        #expect(ColumnStorage(postgresType: "bigint").converted(2.5.databaseValue) == nil)
        #expect(ColumnStorage(postgresType: "double precision").converted(Int64(3).databaseValue) == 3.0.databaseValue)
        #expect(ColumnStorage(postgresType: "text").converted(Int64(3).databaseValue) == nil)
        #expect(ColumnStorage(postgresType: "bytea").converted("ab".databaseValue) == Data("ab".utf8).databaseValue)
        #expect(ColumnStorage(postgresType: "text").converted(.null) == .null)
    }
}

/// Reads the same thing from both stores and expects the same answer.
struct Comparison {
    let source: AppDatabase
    let target: AppDatabase

    func callAsFunction<Value: Equatable>(
        _ what: String,
        _ read: (AppDatabase) async throws -> Value,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let before = try await read(source)
        let after = try await read(target)
        #expect(before == after, "\(what) differ after the copy", sourceLocation: sourceLocation)
    }
}

/// Every page of a paged list, newest first, with the cursor of each.
struct Pages<Item: Equatable & Sendable>: Equatable {
    var items: [Item] = []
    var cursors: [Int64] = []
}

/// Small pages, so that the walk crosses many page boundaries.
func pages<Item: Equatable & Sendable>(_ fetch: (Page) async throws -> PageResult<Item>) async throws -> Pages<Item> {
    var all = Pages<Item>()
    var page = Page(limit: 3)
    repeat {
        let result = try await fetch(page)
        all.items += result.items
        if let next = result.nextCursor { all.cursors.append(next) }
        page.beforeRowID = result.nextCursor
    } while page.beforeRowID != nil
    return all
}

struct FleetPageContents: Equatable {
    var counts: FleetCounts
    var matching: Int
    var hosts: [HostSummary]
}

/// Every row of every SQLite table is in PostgreSQL with the same values:
/// each SQLite column, and SQLite's rowid where PostgreSQL has a `rowid`
/// column standing in for it. Rows are compared as sets: the engines order
/// unordered rows differently.
func expectSameRows(source: AppDatabase, target: AppDatabase) async throws {
    let tables = try await source.sqlite().read { db in try SourceTable.all(db) }
    let rowidTables = try await target.read { tx in
        Set(
            try tx.values(
                String.self,
                "SELECT table_name::text FROM information_schema.columns WHERE column_name = 'rowid'"
            )
        )
    }
    for table in tables {
        let columns = table.columns + (rowidTables.contains(table.name) ? ["rowid"] : [])
        // Named by alias: SQLite calls the rowid of `id INTEGER PRIMARY KEY` "id".
        let list = columns.map { "\"\($0)\" AS \"\($0)\"" }.joined(separator: ", ")
        let sql = "SELECT \(list) FROM \(table.name)"
        let before = try await source.read { tx in countedValues(try tx.rows(sql), columns) }
        let after = try await target.read { tx in countedValues(try tx.rows(sql), columns) }
        #expect(before == after, "rows of \(table.name) differ after the copy")
    }
}

/// Rows as a multiset of their values, read by column name.
private func countedValues(_ rows: [Row], _ columns: [String]) -> [[DatabaseValue]: Int] {
    var counted: [[DatabaseValue]: Int] = [:]
    for row in rows { counted[columns.map { row[$0] as DatabaseValue }, default: 0] += 1 }
    return counted
}
