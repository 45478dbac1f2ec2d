import Foundation
import NIOSSL
import PostgresNIO

/// `--database postgres://user[:password]@host[:port]/database[?sslmode=…]`
/// (SPEC §12). The password is better given by `PGPASSWORD` or a file than in
/// the URL, which shows in process lists; nothing here ever prints it.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    /// `password` (from `PGPASSWORD` or a file) wins over one in the URL.
    public init(_ text: String, password: String? = nil) throws {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw StoreError.invalid("--database must be a postgres:// URL, such as postgres://rm@db.example:5432/restic_manager")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.invalid("--database names no host: postgres://USER@HOST[:PORT]/DATABASE")
        }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw StoreError.invalid("--database names no user: postgres://USER@HOST[:PORT]/DATABASE")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreError.invalid("--database names no database: postgres://USER@HOST[:PORT]/DATABASE")
        }
        self.host = host
        port = components.port ?? 5432
        username = user
        self.password = password ?? components.percentEncodedPassword?.removingPercentEncoding
        self.database = database.removingPercentEncoding ?? database
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? SSLMode.prefer.rawValue
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw StoreError.invalid("--database sslmode must be disable, prefer or require, not \(mode.prefix(32))")
        }
        self.sslMode = sslMode
    }

    /// The URL without its password, for logs and errors.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" }

    /// One connection's settings: for checking that the database is there,
    /// and for what must run outside any transaction (CREATE DATABASE).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch sslMode {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        return PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        return PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
    }
}
