import Foundation
import GRDB
import ResticManagerProtocol
import Testing

@testable import ResticManagerServer

/// The host summaries of SPEC §12 — columns kept by triggers and attention
/// conditions in SQL — against a straightforward per-host computation from
/// the source tables, on randomised fleets built through the store's own
/// write paths.
@Suite struct FleetSummaryTests {
    let ingest = IngestTests()

    /// A deterministic generator, so that a failing seed can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// What a summary should say, computed host by host from the raw rows.
    struct Expected: Equatable {
        var lastBackup: HostSummary.LastBackup?
        var lastSuccess: Date?
        var openAlerts: Int
        var repoSize: Int64?
        var enabledSchedules: Int
        var configured: Bool
        var pending: Bool
        var attention: [AttentionReason]
    }

    static func expected(_ tx: any StoreTransaction, host: HostRecord, now: Date, staleAfter: TimeInterval) throws
        -> Expected
    {
        let backups = try tx.fetchAll(JobRecord.self, "SELECT * FROM jobs WHERE host_id = ? AND kind = 'backup'", [host.id])
            .filter { [.succeeded, .failed, .cancelled].contains($0.status) && $0.finishedAt != nil }
        let last = backups.max { $0.finishedAt! < $1.finishedAt! }
        let lastSuccess = backups.filter { $0.status == .succeeded }.compactMap(\.finishedAt).max()
        let openAlerts = try tx.count("SELECT COUNT(*) FROM alerts WHERE host_id = ? AND state = 'open'", [host.id])
        let repoSize = try tx.value(
            Int64.self, "SELECT size_bytes FROM repo_stats WHERE host_id = ? ORDER BY id DESC LIMIT 1", [host.id])
        let enabled = try tx.fetchAll(ScheduleRecord.self, "SELECT * FROM schedules WHERE host_id = ?", [host.id])
            .filter(\.enabled).count
        let configured = try tx.value(String.self, "SELECT repo_url FROM host_config WHERE host_id = ?", [host.id])
            .map { !$0.isEmpty } ?? false
        let version = try tx.fetchOne(
            ScheduleVersionRecord.self, "SELECT * FROM host_schedule_version WHERE host_id = ?", [host.id])
        let pending = version.map { $0.ackedVersion < $0.desiredVersion } ?? false
        var attention: [AttentionReason] = []
        if !host.connected { attention.append(.offline) }
        if !configured { attention.append(.noRepository) }
        if last?.status == .failed { attention.append(.lastBackupFailed) }
        if enabled == 0 { attention.append(.noSchedule) }
        if lastSuccess == nil { attention.append(.neverBackedUp) }
        if let lastSuccess, now.timeIntervalSince(lastSuccess) > staleAfter { attention.append(.backupStale) }
        if pending { attention.append(.schedulePending) }
        if openAlerts > 0 { attention.append(.openAlerts) }
        return Expected(
            lastBackup: last.map { HostSummary.LastBackup(jobID: $0.id, status: $0.status, finishedAt: $0.finishedAt!) },
            lastSuccess: lastSuccess, openAlerts: openAlerts, repoSize: repoSize, enabledSchedules: enabled,
            configured: configured, pending: pending, attention: attention)
    }

    static func actual(_ summary: HostSummary) -> Expected {
        Expected(
            lastBackup: summary.lastBackup, lastSuccess: summary.lastSuccessfulBackupAt, openAlerts: summary.openAlerts,
            repoSize: summary.repoSizeBytes, enabledSchedules: summary.enabledSchedules,
            configured: summary.repositoryConfigured, pending: !summary.scheduleVersion.inSync,
            attention: summary.attention)
    }

    static let staleAfter = AlertRuleSettings.defaults(.backupStale).threshold

    /// Builds a random fleet through the store: enrollment, config, schedules
    /// (created, disabled, deleted), jobs ending in any order and status,
    /// alerts opened, resolved and deleted, stats reports, presence.
    func randomFleet(seed: UInt64, hosts count: Int, now: Date, on engine: AppDatabase? = nil) async throws -> AppDatabase {
        var random = SplitMix64(state: seed)
        let database = if let engine { engine } else { try await AppDatabase.forTest() }
        for index in 0..<count {
            let host = try #require(try await ingest.enrolledHost(database, hostname: "host-\(index)"))
            if Bool.random(using: &random) {
                _ = try await database.updateHostConfig(
                    hostID: host, change: HostConfigChange(repoURL: Bool.random(using: &random) ? "/srv/r" : ""),
                    by: .system)
            }
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let definition = ScheduleDefinition(
                    kind: .backup, cronExpr: "0 2 * * *", paths: ["/etc"], excludes: [], tags: [], retentionPolicy: nil,
                    options: nil, preHook: "", postHook: "", enabled: Bool.random(using: &random))
                let schedule = try await database.createSchedule(hostID: host, definition: definition, by: .system)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: _ = try await database.deleteSchedule(id: schedule.id, by: .system)
                case 1:
                    var flipped = definition
                    flipped.enabled.toggle()
                    _ = try await database.updateSchedule(id: schedule.id, definition: flipped, by: .system)
                default: break
                }
            }
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                let kind: JobKind = Int.random(in: 0..<4, using: &random) == 0 ? .check : .backup
                let job = try await database.createJob(
                    hostID: host, scheduleID: nil, kind: kind, trigger: .manual, args: [], expiresAfter: .seconds(600),
                    by: .system)
                guard Int.random(in: 0..<5, using: &random) != 0 else { continue }  // some stay queued
                // Finish times in random order, some older than the stale limit.
                let finishedAt = now.addingTimeInterval(-Double(Int.random(in: 60...(4 * 86_400), using: &random)))
                let status = [JobStatus.succeeded, .failed, .cancelled].randomElement(using: &random)!
                _ = try await database.ingest(hostID: host, envelopes: [
                    Envelope(message: .jobStarted(JobStartedPayload(jobID: job.id.rawValue, kind: kind,
                                                                    startedAt: finishedAt.addingTimeInterval(-30)))),
                    Envelope(message: .jobFinished(JobFinishedPayload(
                        jobID: job.id.rawValue, status: status, exitCode: status == .succeeded ? 0 : 1,
                        finishedAt: finishedAt))),
                ])
            }
            // Drawn before the transaction: its closure may not mutate the generator.
            let alertFates = (0..<Int.random(in: 0...3, using: &random)).map { _ in Int.random(in: 0..<3, using: &random) }
            let sizes = (0..<Int.random(in: 0...3, using: &random)).map { _ in Int64.random(in: 1...1 << 40, using: &random) }
            let acked = Bool.random(using: &random)
            let connected = Int.random(in: 0..<4, using: &random) != 0
            try await database.write { tx in
                for fate in alertFates {
                    let id = UUID().uuidString
                    try tx.execute("""
                        INSERT INTO alerts (id, rule, host_id, subject, severity, state, message, opened_at)
                        VALUES (?, 'host_offline', ?, ?, 'warning', 'open', 'm', ?)
                        """, [id, host, id, now])
                    switch fate {
                    case 0: try tx.execute("UPDATE alerts SET state = 'resolved' WHERE id = ?", [id])
                    case 1: try tx.execute("DELETE FROM alerts WHERE id = ?", [id])
                    default: break
                    }
                }
                for size in sizes {
                    try tx.execute("""
                        INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, lock_state)
                        VALUES (?, ?, ?, 1, 1.0, 'unlocked')
                        """, [host, now, size])
                }
                if acked {
                    try tx.execute("UPDATE host_schedule_version SET acked_version = desired_version WHERE host_id = ?",
                                   [host])
                }
                try tx.execute("UPDATE hosts SET connected = ? WHERE id = ?", [connected, host])
            }
        }
        return database
    }

    func expectations(_ database: AppDatabase, now: Date) async throws -> [HostID: (HostRecord, Expected)] {
        try await database.read { tx in
            var all: [HostID: (HostRecord, Expected)] = [:]
            for host in try tx.fetchAll(HostRecord.self, "SELECT * FROM hosts WHERE revoked_at IS NULL") {
                all[host.id] = (host, try Self.expected(tx, host: host, now: now, staleAfter: Self.staleAfter))
            }
            return all
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func summariesMatchAPerHostComputation(seed: UInt64) async throws {
        let now = Date()
        let database = try await randomFleet(seed: seed, hosts: 40, now: now)
        let expected = try await expectations(database, now: now)
        for (id, (_, want)) in expected {
            let summary = try #require(try await database.hostSummary(id: id, now: now))
            #expect(Self.actual(summary) == want, "host \(id), seed \(seed)")
        }
        // The API list, page by page, sees every host once with the same summary.
        var seen: [HostID] = []
        var page = Page(limit: 7)
        repeat {
            let result = try await database.listHosts(page: page, now: now)
            for summary in result.items { #expect(Self.actual(summary) == expected[summary.host.id]?.1) }
            seen += result.items.map(\.host.id)
            page.beforeRowID = result.nextCursor
        } while page.beforeRowID != nil
        #expect(seen.count == expected.count && Set(seen) == Set(expected.keys))
    }

    @Test(arguments: [4, 5] as [UInt64])
    func filtersCountsAndOrderMatchAPerHostComputation(seed: UInt64) async throws {
        let now = Date()
        let database = try await randomFleet(seed: seed, hosts: 40, now: now)
        let expected = try await expectations(database, now: now)
        let filters: [HostFilter] = [HostFilter(), HostFilter(presence: .online), HostFilter(presence: .offline),
                                     HostFilter(attention: .needed), HostFilter(attention: .healthy),
                                     HostFilter(search: "host-1"), HostFilter(presence: .online, attention: .needed)]
            + AttentionReason.allCases.map { HostFilter(attention: .reason($0)) }
        for filter in filters {
            let matching = expected.values.filter { host, want in
                switch filter.presence {
                case .online: if !host.connected { return false }
                case .offline: if host.connected { return false }
                case nil: break
                }
                switch filter.attention {
                case .needed: if want.attention.isEmpty { return false }
                case .healthy: if !want.attention.isEmpty { return false }
                case .reason(let reason): if !want.attention.contains(reason) { return false }
                case nil: break
                }
                if let search = filter.search, !host.name.lowercased().contains(search), !host.hostname.contains(search) {
                    return false
                }
                return true
            }
            .sorted { lhs, rhs in
                let (left, right) = (!lhs.1.attention.isEmpty, !rhs.1.attention.isEmpty)
                if left != right { return left }
                if lhs.0.name.lowercased() != rhs.0.name.lowercased() { return lhs.0.name.lowercased() < rhs.0.name.lowercased() }
                return lhs.0.id.rawValue < rhs.0.id.rawValue
            }
            .map(\.0.id)
            // Read in pages of 6 to cross page boundaries.
            var listed: [HostID] = []
            var offset = 0
            var page: FleetPage
            repeat {
                page = try await database.fleetPage(filter: filter, offset: offset, limit: 6, now: now)
                #expect(page.matching == matching.count, "\(filter)")
                listed += page.hosts.map(\.host.id)
                offset += 6
            } while !page.hosts.isEmpty
            #expect(listed == matching, "\(filter), seed \(seed)")

            var apiListed: Set<HostID> = []
            var cursor = Page(limit: 9)
            repeat {
                let result = try await database.listHosts(page: cursor, filter: filter, now: now)
                apiListed.formUnion(result.items.map(\.host.id))
                cursor.beforeRowID = result.nextCursor
            } while cursor.beforeRowID != nil
            #expect(apiListed == Set(matching), "\(filter)")

            let counts = page.counts
            #expect(counts.hosts == expected.count)
            #expect(counts.online == expected.values.count { $0.0.connected })
            #expect(counts.needingAttention == expected.values.count { !$0.1.attention.isEmpty })
            #expect(counts.repoSizeBytes == expected.values.reduce(0) { $0 + ($1.1.repoSize ?? 0) })
            for reason in AttentionReason.allCases {
                #expect(counts.byReason[reason] == expected.values.count { $0.1.attention.contains(reason) }, "\(reason)")
            }
        }
    }

    /// The migration fills the columns from what an older release stored.
    @Test func theMigrationComputesSummariesOfExistingHosts() async throws {
        let now = Date()
        // SQLite's migrations on either run: the rows are copied file to file.
        let built = try await randomFleet(seed: 9, hosts: 12, now: now, on: AppDatabase.inMemory())
        let expected = try await expectations(built, now: now)
        // Copy the source tables into a database at v3, then migrate it.
        let old = try DatabaseQueue()
        try Migrations.migrator.migrate(old, upTo: "v3-restore")
        try await built.sqlite().read { source in
            try old.write { target in
                for table in ["hosts", "host_config", "schedules", "host_schedule_version", "jobs", "alerts", "repo_stats"] {
                    let columns = try String.fetchAll(target, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table])
                    let list = columns.joined(separator: ", ")
                    for row in try Row.fetchAll(source, sql: "SELECT \(list) FROM \(table)") {
                        try target.execute(
                            sql: "INSERT INTO \(table) (\(list)) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))",
                            arguments: StatementArguments(columns.map { row[$0] as DatabaseValue }))
                    }
                }
            }
        }
        let migrated = try AppDatabase(old)
        for (id, (_, want)) in expected {
            let summary = try #require(try await migrated.hostSummary(id: id, now: now))
            #expect(Self.actual(summary) == want, "host \(id)")
        }
    }

    @Test func searchMatchesPercentAndUnderscoreLiterally() async throws {
        let database = try await AppDatabase.forTest()
        for name in ["web_01", "web-01", "100%-db", "1000-db", "back\\slash"] {
            let id = try #require(try await ingest.enrolledHost(database, hostname: name))
            _ = try await database.updateHost(id: id, name: name, notes: nil, by: .system)
        }
        func names(_ search: String) async throws -> [String] {
            try await database.fleetPage(filter: HostFilter(search: search), offset: 0, limit: 50).hosts.map(\.host.name)
        }
        #expect(try await names("web_") == ["web_01"])
        #expect(try await names("0%") == ["100%-db"])
        #expect(try await names("WEB") == ["web_01", "web-01"].sorted())
        #expect(try await names("\\") == ["back\\slash"])
        #expect(try await names("'; DROP TABLE hosts; --") == [])
        #expect(try await database.fleetPage(filter: HostFilter(), offset: 0, limit: 50).counts.hosts == 5)
    }

    @Test func theStaleLimitIsTheBackupStaleRulesThreshold() async throws {
        let (database, host, job) = try await ingest.fixture()
        let now = Date()
        let finished = now.addingTimeInterval(-5 * 3600)
        _ = try await database.ingest(hostID: host, envelopes: [
            Envelope(message: .jobStarted(JobStartedPayload(jobID: job.rawValue, kind: .backup, startedAt: finished))),
            Envelope(message: .jobFinished(JobFinishedPayload(jobID: job.rawValue, status: .succeeded, exitCode: 0,
                                                              finishedAt: finished))),
        ])
        #expect(try await database.hostSummary(id: host, now: now)?.attention.contains(.backupStale) == false)
        var settings = AlertRuleSettings.defaults(.backupStale)
        settings.thresholdMinutes = 4 * 60
        try await database.setAlertRule(settings, by: .system)
        #expect(try await database.hostSummary(id: host, now: now)?.attention.contains(.backupStale) == true)
    }

    @Test func filterParametersAreReadStrictly() throws {
        #expect(try HostFilter(status: "", attention: "", search: "  ") == HostFilter())
        #expect(try HostFilter(status: "offline", attention: "backup_stale", search: " web ")
            == HostFilter(presence: .offline, attention: .reason(.backupStale), search: "web"))
        #expect(throws: HostFilterError.badStatus) { try HostFilter(status: "Online", attention: nil, search: nil) }
        #expect(throws: HostFilterError.badAttention) { try HostFilter(status: nil, attention: "1", search: nil) }
        #expect(throws: HostFilterError.searchTooLong) {
            try HostFilter(status: nil, attention: nil, search: String(repeating: "a", count: 201))
        }
        #expect(throws: HostFilterError.searchHasControlCharacters) {
            try HostFilter(status: nil, attention: nil, search: "a\u{0}b")
        }
        let filter = HostFilter(presence: .online, attention: .needed, search: "a&b")
        let items = filter.queryItems
        #expect(try HostFilter(status: items.first { $0.name == "status" }?.value,
                               attention: items.first { $0.name == "attention" }?.value,
                               search: items.first { $0.name == "q" }?.value) == filter)
    }
}
