import ArgumentParser
import BenchSupport
import Foundation
import PostgresNIO
import ResticManagerServer

/// `--database`: the PostgreSQL server the benchmarks also measure, beside
/// SQLite in the same run.
struct PostgresOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Also measure PostgreSQL on this server, in databases the bench creates there and drops "
                + "(scripts/scratch-postgres prints such a URL). The password may come from PGPASSWORD instead; "
                + "it is never printed.",
            valueName: "postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]"))
    var database: String?

    func validate() throws { _ = try url() }

    /// The server, checked with one connection, so that a wrong URL or
    /// password or a server that is down fails before anything is measured;
    /// nil without `--database`.
    func server() async throws -> PostgresServer? {
        guard let url = try url() else { return nil }
        try await PostgresServer.withConnection(to: url) { _ in }
        progress("PostgreSQL at \(url)")
        return PostgresServer(admin: url)
    }

    private func url() throws -> PostgresURL? {
        guard let database else { return nil }
        do {
            var url = try PostgresURL(database)
            if url.password == nil {
                url.password = ProcessInfo.processInfo.environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            }
            return url
        } catch let error as StoreError {
            throw ValidationError(error.description)
        }
    }
}

/// The PostgreSQL server of `--database`. Every measurement gets a database
/// of its own there, created empty before it and dropped after it, as every
/// SQLite measurement gets a new file: none starts on another's rows.
struct PostgresServer: Sendable {
    /// Holds the password; only its `description`, which has none, is printed.
    let admin: PostgresURL
    /// Tells this run's databases from another's on a shared server.
    private let run = UUID().uuidString.prefix(8).lowercased()

    init(admin: PostgresURL) { self.admin = admin }

    static let logger: Logger = {
        var logger = Logger(label: "restic-manager-bench.postgres")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` on a new, empty database named after `label` (letters,
    /// digits and `_`), then drops it, whatever happened.
    func withFreshDatabase<Result>(_ label: String, _ body: (PostgresURL) async throws -> Result) async throws -> Result {
        let name = "rm_bench_\(run)_\(label)"
        try await administer("CREATE DATABASE \(name)")
        var url = admin
        url.database = name
        let result: Result
        do {
            result = try await body(url)
        } catch {
            try? await administer("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await administer("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        return result
    }

    /// CREATE and DROP DATABASE run outside any transaction, on a connection of their own.
    private func administer(_ sql: String) async throws {
        try await Self.withConnection(to: admin) { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
        }
    }

    /// One connection to `url` for `body`, closed afterwards; what PostgreSQL
    /// or the network said (`PSQLError`) becomes a `BenchError.postgres`.
    static func withConnection<Result>(
        to url: PostgresURL, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try configuration(url), id: 1, logger: logger)
        } catch {
            throw BenchError.postgres(url: url.description, reason: describe(error))
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            guard error is PSQLError else { throw error }
            throw BenchError.postgres(url: url.description, reason: describe(error))
        }
    }

    /// The server's own mapping (`PostgresURL.connectionConfiguration()`)
    /// is internal to it.
    private static func configuration(_ url: PostgresURL) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch url.sslMode {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        return PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
            tls: tls)
    }

    /// `PSQLError` describes itself vaguely on purpose; the server's message
    /// and SQLSTATE, or the network's error, say what to fix, and carry no password.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "unknown"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
