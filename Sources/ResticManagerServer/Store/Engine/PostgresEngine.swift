import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The shared engine of several replicas: a PostgreSQL server reached
/// through postgres-nio's connection pool (docs/postgresql.md).
///
/// Store bodies are synchronous, so each transaction runs on a thread of
/// NIO's blocking pool and waits there for every statement; the event loops
/// and Swift's cooperative pool are never blocked. The benchmark that chose
/// this shape measured the facade within noise of awaiting each statement.
final class PostgresEngine: StoreEngine {
    let client: PostgresClient
    /// For connections outside the pool: `LISTEN` holds one for good.
    private let connectionConfiguration: PostgresConnection.Configuration
    private let logger: Logger
    /// The pool's own loop runs as long as the engine (postgres-nio wants
    /// `run()` awaited somewhere); ended by ``close()``.
    private let pool: Task<Void, Never>

    var dialect: SQLDialect { .postgres }

    /// A transaction that lost a serialization race is run again this many
    /// times: its body is a function of what it reads, so a retry is safe.
    static let serializationRetries = 5

    init(
        configuration: PostgresClient.Configuration, connectionConfiguration: PostgresConnection.Configuration,
        logger: Logger
    ) {
        self.connectionConfiguration = connectionConfiguration
        // The pool's own log says each failed reconnect at info, and warns
        // that `run()` starts an instant after the first lease: errors only.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.client = client
        self.logger = logger
        pool = Task { await client.run() }
    }

    func close() {
        pool.cancel()
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// SERIALIZABLE, so a body that reads and then writes behaves as it does
    /// on SQLite's single writer, whichever replicas write at the same time.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await transaction("BEGIN ISOLATION LEVEL SERIALIZABLE", body)
            } catch let error as PSQLError where Self.isRetryable(error) && attempt < Self.serializationRetries {
                attempt += 1
                // Apart, at random, so transactions that collided do not collide again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            }
        }
    }

    /// READ COMMITTED: for `PostgresMigrator` only, whose statements must see
    /// what other replicas committed while it waited for its lock.
    func migrationTransaction(_ body: @escaping @Sendable (any StoreTransaction) throws -> Void) async throws {
        try await transaction("BEGIN ISOLATION LEVEL READ COMMITTED", body)
    }

    /// Sends `payloads` on `channel`, delivered when this transaction commits.
    func notify(channel: String, _ payloads: [String]) async throws {
        try await write { tx in
            for payload in payloads { try tx.execute("SELECT pg_notify(?, ?)", [channel, payload]) }
        }
    }

    /// Calls `onNotification` with every payload sent on `channel` until the
    /// connection ends (thrown) or the task is cancelled.
    func listen(channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: connectionConfiguration, id: 1, logger: logger)
        do {
            for try await notification in try await connection.listen(channel) {
                onNotification(notification.payload)
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    private static func isRetryable(_ error: PSQLError) -> Bool {
        // serialization_failure, deadlock_detected
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    private func transaction<T: Sendable>(
        _ begin: String, _ body: @escaping @Sendable (any StoreTransaction) throws -> T
    ) async throws -> T {
        let logger = logger
        return try await client.withConnection { connection in
            try await NIOThreadPool.singleton.runIfActive {
                let tx = PostgresTransaction(connection: connection, logger: logger)
                try tx.run(begin)
                do {
                    let result = try body(tx)
                    try tx.run("COMMIT")
                    return result
                } catch {
                    try? tx.run("ROLLBACK")
                    throw error
                }
            }
        }
    }
}

/// One PostgreSQL transaction seen through `StoreTransaction`, used by one
/// thread of the blocking pool at a time.
final class PostgresTransaction: StoreTransaction {
    private let connection: PostgresConnection
    private let logger: Logger
    private var savepoints = 0

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    var dialect: SQLDialect { .postgres }

    func run(_ sql: String) throws {
        _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
    }

    func execute(_ sql: String, _ arguments: StoreArguments) throws -> Int {
        try query(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: StoreArguments) throws -> [Row] {
        try query(sql, arguments).rows.map(Self.row)
    }

    func insert(_ bulk: BulkInsert) throws -> [Bool] {
        guard !bulk.rows.isEmpty else { return [] }
        var binds = PostgresBindings(capacity: bulk.columns.count)
        for (index, column) in bulk.columns.enumerated() {
            let values = bulk.rows.map { $0[index] }
            switch column.type {
            case .text:
                binds.append(try values.map { value in
                    guard case .string(let text) = value.storage else { throw Self.notBulkValue(bulk, column.name) }
                    return Self.storable(text)
                })
            case .bigint:
                binds.append(try values.map { value in
                    guard case .int64(let integer) = value.storage else { throw Self.notBulkValue(bulk, column.name) }
                    return integer
                })
            }
        }
        let arrays = bulk.columns.enumerated().map { "$\($0.offset + 1)::\($0.element.type.rawValue)[]" }
        let keyNames = bulk.key.map { bulk.columns[$0].name }
        let sql = """
            INSERT INTO \(bulk.table) (\(bulk.columnList)) SELECT * FROM unnest(\(arrays.joined(separator: ", ")))
            ON CONFLICT DO NOTHING RETURNING \(keyNames.joined(separator: ", "))
            """
        let result = try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait()
        let keys = try result.rows.map { row in
            let converted = try Self.row(row)
            return keyNames.map { converted[$0] as DatabaseValue }
        }
        return bulk.inserted(keys: keys)
    }

    /// Text as both engines store it: up to its first NUL. GRDB binds text to
    /// SQLite as a C string, which ends there; PostgreSQL refuses NUL in
    /// `text` outright, which would turn a hostile `"admin\u{0}"` login into
    /// a 500 on this engine only.
    private static func storable(_ text: String) -> String {
        guard let nul = text.utf8.firstIndex(of: 0) else { return text }
        return String(text[..<nul])
    }

    private static func notBulkValue(_ bulk: BulkInsert, _ column: String) -> StoreError {
        .invalid("\(bulk.table).\(column): a bulk insert's values must match the column's type and not be NULL")
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepoints += 1
        let name = "store_\(savepoints)"
        try run("SAVEPOINT \(name)")
        do {
            let result = try body()
            try run("RELEASE SAVEPOINT \(name)")
            return result
        } catch {
            try run("ROLLBACK TO SAVEPOINT \(name)")
            throw error
        }
    }

    private func query(_ sql: String, _ arguments: StoreArguments) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.values.count)
        for value in arguments.values {
            switch value.storage {
            case .null: binds.appendNull()
            case .int64(let integer): binds.append(integer)
            case .double(let double): binds.append(double)
            case .string(let string): binds.append(Self.storable(string))
            case .blob(let data): binds.append(ByteBuffer(bytes: data))
            }
        }
        let query = PostgresQuery(unsafeSQL: PostgresSQL.numberingPlaceholders(sql), binds: binds)
        return try connection.query(query, logger: logger).wait()
    }

    /// A PostgreSQL row as the GRDB row the records decode from: integers,
    /// reals, text and bytes as SQLite would have returned them.
    private static func row(_ row: PostgresRow) throws -> Row {
        var columns: [String: (any DatabaseValueConvertible)?] = [:]
        for cell in row {
            columns[cell.columnName] = try value(of: cell)
        }
        return Row(columns)
    }

    private static func value(of cell: PostgresCell) throws -> DatabaseValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid: return try cell.decode(Int64.self).databaseValue
        case .bool: return (try cell.decode(Bool.self) ? 1 : 0).databaseValue
        case .float4, .float8: return try cell.decode(Double.self).databaseValue
        case .bytea: return Data(try cell.decode(ByteBuffer.self).readableBytesView).databaseValue
        case .numeric:
            // SUM() of integers is numeric on PostgreSQL and an integer on
            // SQLite: an integer when it is one.
            let decimal = try cell.decode(Decimal.self)
            let number = NSDecimalNumber(decimal: decimal)
            if Decimal(number.int64Value) == decimal { return number.int64Value.databaseValue }
            return number.doubleValue.databaseValue
        default: return try cell.decode(String.self).databaseValue
        }
    }
}

/// SQL written once for both engines, made PostgreSQL's.
enum PostgresSQL {
    /// `?` placeholders become `$1…$n`, except inside quoted text,
    /// identifiers and comments.
    static func numberingPlaceholders(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        var inComment = false
        var previous: Character = " "
        for character in sql {
            if inComment {
                if character == "\n" { inComment = false }
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-", previous == "-" {
                inComment = true
            } else if character == "?" {
                number += 1
                result += "$\(number)"
                previous = character
                continue
            }
            result.append(character)
            previous = character
        }
        return result
    }
}

extension PostgresSQL {
    /// A script's statements, split at top-level semicolons: the extended
    /// protocol postgres-nio speaks runs one statement per query. Semicolons
    /// inside quotes, comments and `$$` function bodies do not split.
    static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inDollarBody = false
        var quote: Character?
        var inComment = false
        var previous: Character = " "
        for character in script {
            current.append(character)
            if inComment {
                if character == "\n" { inComment = false }
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "$", previous == "$" {
                inDollarBody.toggle()
                previous = " "
                continue
            } else if inDollarBody {
                // Only `$$` ends a body.
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-", previous == "-" {
                inComment = true
            } else if character == ";" {
                statements.append(current)
                current = ""
            }
            previous = character
        }
        statements.append(current)
        return statements.filter { statement in
            statement.split(separator: "\n").contains { line in
                let code = line.trimmingCharacters(in: .whitespaces)
                return !code.isEmpty && !code.hasPrefix("--") && code != ";"
            }
        }
    }
}
