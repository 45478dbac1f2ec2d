import Foundation
import GRDB
import Logging
import PostgresNIO

/// The server's store: one value wrapping a GRDB writer, migrated in its
/// initializer so no caller ever sees an unmigrated database.
///
/// Handlers never write SQL; they call the intent-named methods declared in
/// the `AppDatabase+*.swift` extensions.
public struct AppDatabase: Sendable {
    let engine: any StoreEngine

    public init(_ writer: any DatabaseWriter) throws {
        try Migrations.migrator.migrate(writer)
        engine = SQLiteEngine(writer: writer)
    }

    private init(engine: any StoreEngine) {
        self.engine = engine
    }

    /// Connects to the PostgreSQL database at `url` and migrates it, taking
    /// turns with replicas that start at the same time.
    public static func connect(_ url: PostgresURL, logger: Logger) async throws -> AppDatabase {
        // One connection first: the pool would retry a wrong password or an
        // unreachable server forever, where starting should fail and say why.
        let probe = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 0, logger: logger)
        try? await probe.close()
        let engine = PostgresEngine(
            configuration: url.clientConfiguration, connectionConfiguration: try url.connectionConfiguration(),
            logger: logger)
        do {
            try await PostgresMigrator.migrate(engine)
        } catch {
            engine.close()
            throw error
        }
        return AppDatabase(engine: engine)
    }

    /// Ends the PostgreSQL engine's connection pool; nothing on SQLite.
    public func close() {
        (engine as? PostgresEngine)?.close()
    }

    /// Signals the other replicas sharing the store (`NOTIFY`); nothing on
    /// SQLite, which no other replica shares.
    func signalReplicas(channel: String, _ payloads: [String]) async throws {
        guard let postgres = engine as? PostgresEngine, !payloads.isEmpty else { return }
        try await postgres.notify(channel: channel, payloads)
    }

    /// Hears the other replicas' signals (`LISTEN`) until the connection
    /// ends; returns at once on SQLite.
    func listen(channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {
        guard let postgres = engine as? PostgresEngine else { return }
        try await postgres.listen(channel: channel, onNotification)
    }

    /// The SQLite file's GRDB writer, for the maintenance only SQLite has
    /// (its vacuum modes); nil on PostgreSQL.
    var sqliteWriter: (any DatabaseWriter)? { (engine as? SQLiteEngine)?.writer }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await engine.read(body)
    }

    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await engine.write(body)
    }

    /// Opens (creating if needed) the SQLite file at `path` in WAL mode.
    public static func open(path: String) throws -> AppDatabase {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // NORMAL is durable in WAL mode across application crashes; only an
            // OS crash can lose the last transactions, which agents replay from
            // their outbox anyway (acks are sent after commit).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Lets the retention sweep give deleted pages back. SQLite honours
            // it only on a file with no table yet, and only when it precedes
            // the WAL switch (GRDB switches after this closure): a new file.
            // An older one is converted by `convertToIncrementalVacuum()`.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        return try AppDatabase(pool)
    }

    /// A fresh in-memory database, for tests.
    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue())
    }
}

/// What went wrong in the store, in terms a handler can turn into an answer.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(String)
    case conflict(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let what): "\(what) not found"
        case .conflict(let why): why
        case .invalid(let why): why
        }
    }
}

/// Who made a change and from where: every mutating accessor writes an audit
/// row inside the same transaction as the change itself.
public struct AuditActor: Sendable, Equatable {
    public var actor: String
    public var ip: String

    public init(actor: String, ip: String) {
        self.actor = actor
        self.ip = ip
    }

    public static let system = AuditActor(actor: "system", ip: "")
}

/// Keyset pagination over rowid, newest first. The cursor is the rowid of
/// the last row returned, opaque to clients.
public struct Page: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maxLimit = 500

    public var limit: Int
    public var beforeRowID: Int64?

    public init(limit: Int = Page.defaultLimit, beforeRowID: Int64? = nil) {
        self.limit = limit
        self.beforeRowID = beforeRowID
    }
}

/// One page of results and the cursor of the next page, if any.
public struct PageResult<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: Int64?
}

extension AppDatabase {
    /// Fetches `limit + 1` rows of the record's table that meet `conditions`,
    /// ordered by rowid descending, to learn whether another page exists.
    func fetchPage<Record: FetchableRecord & TableRecord & Sendable>(
        _ tx: any StoreTransaction, _ type: Record.Type, _ conditions: SQLConditions = SQLConditions(), page: Page
    ) throws -> PageResult<Record> {
        var conditions = conditions
        if let before = page.beforeRowID { conditions.add("rowid < ?", [before]) }
        let rows = try tx.rows(
            "SELECT rowid AS _rowid, * FROM \(Record.databaseTableName) \(conditions.sql) ORDER BY rowid DESC LIMIT ?",
            conditions.arguments + [page.limit + 1])
        let records = try rows.prefix(page.limit).map { try Record(row: $0) }
        let next: Int64? = rows.count > page.limit ? rows[page.limit - 1]["_rowid"] : nil
        return PageResult(items: records, nextCursor: next)
    }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
