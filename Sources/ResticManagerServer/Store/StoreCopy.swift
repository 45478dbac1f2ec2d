import Foundation
import GRDB
import Logging
import NIOPosix
import PostgresNIO

/// `migrate-to` (SPEC §12): every row of a data dir's SQLite database copied
/// into an empty PostgreSQL database, so that an installation can move to
/// PostgreSQL with nothing lost.
///
/// The copy knows no table by name. It copies every table the SQLite file
/// has, parents before children by their foreign keys, and in each the
/// columns both sides have, so a table or column a later migration adds is
/// copied without changing this file. It all happens in one PostgreSQL
/// transaction: a copy that fails anywhere leaves the target as empty as it
/// was, and can simply be run again. The SQLite file is only read, so the
/// installation can go back to it.
public enum StoreCopy {
    /// Rows per `INSERT`: few round trips, and a statement the server parses
    /// quickly. Wide tables get fewer, to stay within the parameters one
    /// statement may bind (the protocol counts them in 16 bits).
    static let rowsPerStatement = 1_000
    static let parametersPerStatement = 32_767

    /// Copies the SQLite database of `dataDirectory` into the empty database
    /// at `postgres` (migrated to the newest schema first), calls `progress`
    /// after each table, and checks that every table holds as many rows on
    /// both sides.
    public static func sqliteToPostgres(
        dataDirectory: String,
        postgres: PostgresURL,
        logger: Logger,
        progress: @escaping @Sendable (CopiedTable) -> Void = { _ in }
    ) async throws -> StoreCopyReport {
        let started = ContinuousClock.now
        let source = try SQLiteSource(path: sqlitePath(dataDirectory: dataDirectory))
        let target = try await emptyTarget(postgres, logger: logger)
        defer { target.close() }
        let copied = try await copy(source, into: target, url: postgres, progress: progress)
        let tables = try await verify(copied, source: source, target: target)
        return StoreCopyReport(tables: tables, elapsed: ContinuousClock.now - started)
    }

    /// The SQLite file of a data dir, which the copy reads.
    public static func sqlitePath(dataDirectory: String) -> String {
        DataDirectory.databasePath(in: dataDirectory)
    }

    /// Refuses a database that holds data before migrating it, so that a
    /// refused run changes nothing there; then connects and migrates.
    private static func emptyTarget(_ url: PostgresURL, logger: Logger) async throws -> AppDatabase {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(),
                id: 0,
                logger: logger
            )
            do {
                try await NIOThreadPool.singleton.runIfActive {
                    try refuseHeldData(PostgresTransaction(connection: connection, logger: logger), url: url)
                }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
            return try await AppDatabase.connect(url, logger: logger)
        } catch let error as StoreCopyError {
            throw error
        } catch let error as StoreError {
            throw error
        } catch {
            throw ServerStartError.database(url: url.description, reason: PostgresFailure.describe(error))
        }
    }

    /// One transaction: the check that the target is still empty, the rows
    /// of every table, and the identity sequences moved past them.
    private static func copy(
        _ source: SQLiteSource,
        into target: AppDatabase,
        url: PostgresURL,
        progress: @escaping @Sendable (CopiedTable) -> Void
    ) async throws -> [CopiedTable] {
        do {
            return try await target.write { tx in
                try refuseHeldData(tx, url: url)
                let targetTables = try TargetTable.all(tx)
                return try source.queue.read { db in
                    let plans = try SourceTable.parentsFirst(try SourceTable.all(db)).map { table in
                        try TablePlan(table, target: targetTables[table.name])
                    }
                    try switchTriggers(of: plans, enabled: false, tx)
                    var copied: [CopiedTable] = []
                    for plan in plans {
                        let table = CopiedTable(name: plan.table, rows: try copyRows(plan, from: db, into: tx))
                        progress(table)
                        copied.append(table)
                    }
                    try switchTriggers(of: plans, enabled: true, tx)
                    return copied
                }
            }
        } catch let error as StoreCopyError {
            throw error
        } catch {
            throw StoreCopyError.copyFailed(reason: PostgresFailure.describe(error))
        }
    }

    /// The summary tables and columns the triggers keep were copied as they
    /// are; with the triggers on, each child row copied would recompute its
    /// host's columns halfway through the copy. Disabling them needs only
    /// ownership of the tables (`session_replication_role` needs a
    /// superuser), and inside the transaction a failed copy cannot leave
    /// them off.
    private static func switchTriggers(of plans: [TablePlan], enabled: Bool, _ tx: any StoreTransaction) throws {
        do {
            for plan in plans {
                try tx.execute("ALTER TABLE \(quoted(plan.table)) \(enabled ? "ENABLE" : "DISABLE") TRIGGER USER")
            }
        } catch {
            throw StoreCopyError.triggers(reason: PostgresFailure.describe(error))
        }
    }

    private static func copyRows(_ plan: TablePlan, from db: Database, into tx: any StoreTransaction) throws -> Int {
        do {
            let perStatement = max(1, min(rowsPerStatement, parametersPerStatement / max(1, plan.columns.count)))
            let fullBatch = plan.insertSQL(rows: perStatement)
            var values: [DatabaseValue] = []
            values.reserveCapacity(perStatement * plan.columns.count)
            var pending = 0
            var copied = 0
            let rows = try Row.fetchCursor(db, sql: plan.selectSQL)
            while let row = try rows.next() {
                for (column, value) in zip(plan.columns, row.databaseValues) {
                    values.append(try column.converted(value, in: plan.table))
                }
                pending += 1
                if pending == perStatement {
                    copied += try tx.execute(fullBatch, StoreArguments(values: values))
                    values.removeAll(keepingCapacity: true)
                    pending = 0
                }
            }
            if pending > 0 { copied += try tx.execute(plan.insertSQL(rows: pending), StoreArguments(values: values)) }
            try moveIdentitySequences(plan, tx)
            return copied
        } catch let error as StoreCopyError {
            throw error
        } catch {
            throw StoreCopyError.table(plan.table, reason: PostgresFailure.describe(error))
        }
    }

    /// The copied rows keep their numbers, so each identity sequence must
    /// continue after the highest one, or the next row a server adds would
    /// collide. (`setval` is not undone by a rollback; a failed copy only
    /// leaves numbers skipped.)
    private static func moveIdentitySequences(_ plan: TablePlan, _ tx: any StoreTransaction) throws {
        for column in plan.columns where column.isIdentity {
            _ = try tx.rows(
                """
                SELECT setval(pg_get_serial_sequence(?, ?),
                    COALESCE((SELECT MAX(\(quoted(column.name))) FROM \(quoted(plan.table))), 0) + 1, false)
                """,
                [quoted(plan.table), column.name]
            )
        }
    }

    /// Counts every copied table again on both sides once the copy has
    /// committed: a difference means rows arrived in SQLite during the copy
    /// (a server was started) or did not arrive in PostgreSQL.
    private static func verify(
        _ copied: [CopiedTable],
        source: SQLiteSource,
        target: AppDatabase
    ) async throws
        -> [StoreCopyReport.Table]
    {
        let names = copied.map(\.name)
        let sourceCounts = try await source.queue.read { db in
            try names.map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(quoted($0))") ?? 0 }
        }
        let targetCounts = try await target.read { tx in
            try names.map { try tx.count("SELECT COUNT(*) FROM \(quoted($0))") }
        }
        let tables = zip(names, zip(sourceCounts, targetCounts)).map {
            StoreCopyReport.Table(name: $0.0, sourceRows: $0.1.0, targetRows: $0.1.1)
        }
        let differing = tables.filter { $0.sourceRows != $0.targetRows }
        guard differing.isEmpty else { throw StoreCopyError.countsDiffer(differing) }
        return tables
    }

    /// The store's tables on PostgreSQL that hold a row; `schema_migrations`
    /// is bookkeeping every migrated database has.
    static func refuseHeldData(_ tx: any StoreTransaction, url: PostgresURL) throws {
        let tables = try tx.values(
            String.self,
            """
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname <> 'schema_migrations'
            ORDER BY 1
            """
        )
        let held = try tables.filter { try tx.value(Int.self, "SELECT 1 FROM \(quoted($0)) LIMIT 1") != nil }
        guard held.isEmpty else { throw StoreCopyError.targetHoldsData(database: url.description, tables: held) }
    }
}

/// One table copied, and how many rows it got.
public struct CopiedTable: Sendable, Equatable {
    public let name: String
    public let rows: Int
}

/// What `migrate-to` copied and verified.
public struct StoreCopyReport: Sendable {
    /// A table's rows counted on both sides after the copy committed.
    public struct Table: Sendable, Equatable {
        public let name: String
        public let sourceRows: Int
        public let targetRows: Int
    }

    public let tables: [Table]
    public let elapsed: Duration

    public var rows: Int { tables.reduce(0) { $0 + $1.targetRows } }
}

/// Why `migrate-to` stopped, and what to do about it.
public enum StoreCopyError: Error, Equatable, CustomStringConvertible {
    case noSource(path: String)
    case sourceInUse(path: String)
    case notAStore(path: String)
    case sourceNewer(path: String, migration: String)
    case sourceBehind(path: String, migration: String)
    case foreignKeyCycle(tables: [String])
    case noTargetTable(String)
    case noTargetColumn(table: String, column: String)
    case unconvertible(table: String, column: String, value: String, type: String)
    case targetHoldsData(database: String, tables: [String])
    case triggers(reason: String)
    case table(String, reason: String)
    case copyFailed(reason: String)
    case countsDiffer([StoreCopyReport.Table])

    /// Said after every failure of the copy itself.
    private static let nothingKept = "nothing was kept in PostgreSQL (the copy is one transaction)"

    public var description: String {
        switch self {
        case .noSource(let path):
            "no SQLite database at \(path); --data-dir must be the data dir of the installation being moved"
        case .sourceInUse(let path):
            "\(path) is open in another process, most likely a running server; stop it "
                + "(systemctl stop restic-manager-server) and run migrate-to again"
        case .notAStore(let path):
            "\(path) is not a restic-manager database (it has no migration history)"
        case .sourceNewer(let path, let migration):
            "\(path) has migration \(migration), which this release does not know: it was made by a newer "
                + "restic-manager; run migrate-to of that release or newer"
        case .sourceBehind(let path, let migration):
            "\(path) lacks migration \(migration) of this release; start this release's server on it once "
                + "(it upgrades the file), stop it, and run migrate-to again"
        case .foreignKeyCycle(let tables):
            "the SQLite tables \(tables.joined(separator: ", ")) refer to each other in a cycle, so no copy order "
                + "satisfies their foreign keys; this is a bug, please report it"
        case .noTargetTable(let table):
            "the SQLite table \(table) has no table in PostgreSQL, so its rows would be lost; "
                + "run migrate-to of the release that made the SQLite file"
        case .noTargetColumn(let table, let column):
            "the SQLite column \(table).\(column) has no column in PostgreSQL, so its values would be lost; "
                + "run migrate-to of the release that made the SQLite file"
        case .unconvertible(let table, let column, let value, let type):
            "a row of \(table) holds \(value) in \(column), which a PostgreSQL \(type) column cannot hold without "
                + "change; correct that row in the SQLite file (with the server stopped), then run migrate-to again; "
                + Self.nothingKept
        case .targetHoldsData(let database, let tables):
            "the database \(database) already holds data (in \(tables.joined(separator: ", "))); migrate-to copies "
                + "only into an empty database, so that nothing is doubled or mixed: create a new one "
                + "(createdb, or CREATE DATABASE) and give it to --database; nothing was changed"
        case .triggers(let reason):
            "cannot switch off the triggers of the copied tables: \(reason); run migrate-to as the PostgreSQL user "
                + "that owns the tables (the one migrate-to or serve created them with); " + Self.nothingKept
        case .table(let table, let reason):
            "copying \(table) failed: \(reason); " + Self.nothingKept
        case .copyFailed(let reason):
            "the copy failed: \(reason); " + Self.nothingKept
        case .countsDiffer(let tables):
            "after the copy, row counts differ ("
                + tables.map { "\($0.name): \($0.sourceRows) in SQLite, \($0.targetRows) in PostgreSQL" }
                .joined(separator: "; ")
                + "); was a server started meanwhile? Keep using SQLite, drop and re-create the PostgreSQL "
                + "database, stop every server, and run migrate-to again"
        }
    }
}

// MARK: The SQLite side

/// The SQLite file being moved, read-only.
struct SQLiteSource: Sendable {
    let queue: DatabaseQueue

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreCopyError.noSource(path: path) }
        if Self.isOpenElsewhere(path) { throw StoreCopyError.sourceInUse(path: path) }
        var configuration = Configuration()
        configuration.readonly = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.read { db in try Self.checkMigrations(db, path: path) }
    }

    /// Whether another process has the file open. Each connection to a WAL
    /// database, idle or not, holds a shared lock on its lock bytes for as
    /// long as it is open, and a running server holds connections all the
    /// time. Checked before this process opens the file: closing the probe
    /// releases this process's own locks on it.
    static func isOpenElsewhere(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        probe.l_start = 0x4000_0000  // SQLite's pending, reserved and shared lock bytes
        probe.l_len = 512
        guard fcntl(descriptor, F_GETLK, &probe) == 0 else { return false }
        return probe.l_type != Int16(F_UNLCK)
    }

    /// The copy needs the schema this release's PostgreSQL migrations make:
    /// the same named migrations, all applied.
    private static func checkMigrations(_ db: Database, path: String) throws {
        let migrator = Migrations.migrator
        guard try db.tableExists("grdb_migrations") else { throw StoreCopyError.notAStore(path: path) }
        let applied = try migrator.appliedIdentifiers(db)
        if let unknown = applied.subtracting(migrator.migrations).sorted().first {
            throw StoreCopyError.sourceNewer(path: path, migration: unknown)
        }
        if let missing = migrator.migrations.first(where: { !applied.contains($0) }) {
            throw StoreCopyError.sourceBehind(path: path, migration: missing)
        }
    }
}

/// One table of the SQLite file: its columns and the tables it refers to.
struct SourceTable: Equatable {
    let name: String
    let columns: [String]
    let parents: Set<String>

    /// Every table but SQLite's and GRDB's bookkeeping (`sqlite_sequence`,
    /// `sqlite_stat1`, `grdb_migrations`), which PostgreSQL keeps its own way.
    static func all(_ db: Database) throws -> [SourceTable] {
        let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return try names.filter { !$0.hasPrefix("sqlite_") && !$0.hasPrefix("grdb_") }.map { name in
            SourceTable(
                name: name,
                columns: try db.columns(in: name).map(\.name),
                parents: Set(try db.foreignKeys(on: name).map(\.destinationTable)).subtracting([name])
            )
        }
    }

    /// The tables ordered so that each comes after every table it refers to,
    /// by name where the foreign keys leave a choice.
    static func parentsFirst(_ tables: [SourceTable]) throws -> [SourceTable] {
        let known = Set(tables.map(\.name))
        var remaining = tables.sorted { $0.name < $1.name }
        var placed: Set<String> = []
        var ordered: [SourceTable] = []
        while !remaining.isEmpty {
            guard let next = remaining.firstIndex(where: { $0.parents.intersection(known).isSubset(of: placed) }) else {
                throw StoreCopyError.foreignKeyCycle(tables: remaining.map(\.name))
            }
            let table = remaining.remove(at: next)
            placed.insert(table.name)
            ordered.append(table)
        }
        return ordered
    }
}

// MARK: The PostgreSQL side

/// A column of a PostgreSQL table, as far as copying into it goes.
struct TargetColumn {
    let name: String
    let storage: ColumnStorage
    let isIdentity: Bool
    /// Computed from other columns (`GENERATED ALWAYS AS (…) STORED`): never written.
    let isGenerated: Bool
}

enum TargetTable {
    /// The columns of every table in the current schema, by table name.
    static func all(_ tx: any StoreTransaction) throws -> [String: [TargetColumn]] {
        let rows = try tx.rows(
            """
            SELECT c.relname::text AS table_name, a.attname::text AS column_name,
                format_type(a.atttypid, a.atttypmod) AS type, a.attidentity <> '' AS is_identity,
                a.attgenerated <> '' AS is_generated
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname, a.attnum
            """
        )
        var tables: [String: [TargetColumn]] = [:]
        for row in rows {
            tables[row["table_name"], default: []].append(
                TargetColumn(
                    name: row["column_name"],
                    storage: ColumnStorage(postgresType: row["type"]),
                    isIdentity: row["is_identity"],
                    isGenerated: row["is_generated"]
                )
            )
        }
        return tables
    }
}

/// How PostgreSQL stores a column, in SQLite's storage classes: the schema
/// declares integers and booleans BIGINT, dates TEXT, bytes BYTEA and reals
/// DOUBLE PRECISION (`PostgresMigrations`).
enum ColumnStorage: Equatable {
    case integer, real, text, blob
    /// A type the store does not use; values go as they are and PostgreSQL judges.
    case other(String)

    init(postgresType: String) {
        switch postgresType {
        case "bigint", "integer", "smallint": self = .integer
        case "double precision", "real": self = .real
        case "text": self = .text
        case "bytea": self = .blob
        default: self = postgresType.hasPrefix("character") ? .text : .other(postgresType)
        }
    }

    /// `value` in this storage class, or nil when it would change on the way.
    /// SQLite's column affinities make a mismatch rare (a number in a date
    /// column, say); numbers that fit exactly and text bytes are carried over.
    func converted(_ value: DatabaseValue) -> DatabaseValue? {
        switch (self, value.storage) {
        case (_, .null), (.other, _), (.integer, .int64), (.real, .double), (.text, .string), (.blob, .blob):
            value
        case (.real, .int64(let integer)): Double(exactly: integer)?.databaseValue
        case (.integer, .double(let double)): Int64(exactly: double)?.databaseValue
        case (.blob, .string(let text)): Data(text.utf8).databaseValue
        default: nil
        }
    }

    var name: String {
        switch self {
        case .integer: "bigint"
        case .real: "double precision"
        case .text: "text"
        case .blob: "bytea"
        case .other(let type): type
        }
    }
}

/// One table's copy: what to select from SQLite, and where each value goes.
struct TablePlan {
    struct Column {
        let name: String
        /// What the SQLite `SELECT` reads for it: the column, or SQLite's `rowid`.
        let source: String
        let storage: ColumnStorage
        let isIdentity: Bool

        func converted(_ value: DatabaseValue, in table: String) throws -> DatabaseValue {
            guard let converted = storage.converted(value) else {
                throw StoreCopyError.unconvertible(
                    table: table,
                    column: name,
                    value: "\(value)".prefix(40).description,
                    type: storage.name
                )
            }
            return converted
        }
    }

    let table: String
    let columns: [Column]

    /// Every SQLite column goes to the PostgreSQL column of its name; one
    /// missing there would lose data, so it stops the copy. SQLite's hidden
    /// `rowid` goes to PostgreSQL's `rowid` column, which stands in for it
    /// on the tables the store pages newest first: copied, it keeps their
    /// order and their page cursors.
    init(_ source: SourceTable, target: [TargetColumn]?) throws {
        guard let target else { throw StoreCopyError.noTargetTable(source.name) }
        let byName = Dictionary(target.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var columns: [Column] = []
        for name in source.columns {
            guard let column = byName[name] else {
                throw StoreCopyError.noTargetColumn(table: source.name, column: name)
            }
            if column.isGenerated { continue }
            columns.append(
                Column(name: name, source: quoted(name), storage: column.storage, isIdentity: column.isIdentity)
            )
        }
        if let rowid = byName["rowid"], !rowid.isGenerated, !source.columns.contains("rowid") {
            columns.append(Column(name: "rowid", source: "rowid", storage: .integer, isIdentity: rowid.isIdentity))
        }
        table = source.name
        self.columns = columns
    }

    /// Rows in rowid order where it is copied, so the identity column and
    /// SQLite agree row by row.
    var selectSQL: String {
        let order = columns.contains { $0.source == "rowid" } ? " ORDER BY rowid" : ""
        return "SELECT \(columns.map(\.source).joined(separator: ", ")) FROM \(quoted(table))\(order)"
    }

    /// A multi-row `INSERT`; `OVERRIDING SYSTEM VALUE` lets it write
    /// `GENERATED ALWAYS` identity columns.
    func insertSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let overriding = columns.contains(where: \.isIdentity) ? " OVERRIDING SYSTEM VALUE" : ""
        return "INSERT INTO \(quoted(table)) (\(columns.map { quoted($0.name) }.joined(separator: ", ")))"
            + "\(overriding) VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
    }
}

/// A table or column name as an SQL identifier, on either engine.
private func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
