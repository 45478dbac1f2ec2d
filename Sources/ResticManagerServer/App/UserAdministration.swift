import Foundation
import Logging
import ResticManagerCrypto

/// The offline `user` subcommands: they work on the store directly, with or
/// without a running server (SQLite in WAL mode and PostgreSQL allow both).
public struct UserAdministration: Sendable {
    let database: AppDatabase
    let hasher: PasswordHasher
    private static let actor = AuditActor(actor: "cli", ip: "")

    public init(_ location: StoreLocation, logger: Logger) async throws {
        let dataDir = try DataDirectory(path: location.dataDirectory)
        database = try await dataDir.openStore(postgres: location.postgres, logger: logger)
        hasher = PasswordHasher()
    }

    /// Creates a user; returns the generated password when none was given.
    public func add(username: String, role: String, password: String?) async throws -> String? {
        let username = try Self.checked { try Validate.username(username) }
        let role = try Self.checked { try Validate.role(role) }
        let chosen = try password.map { password in try Self.checked { try Validate.password(password) } }
        let actual = chosen ?? FirstAdmin.randomPassword()
        _ = try await database.createUser(username: username, passwordHash: try hasher.hash(actual), role: role, by: Self.actor)
        return chosen == nil ? actual : nil
    }

    public func list() async throws -> [UserRecord] {
        try await database.allUsers()
    }

    /// Sets a new password; returns the generated one when none was given.
    public func setPassword(username: String, password: String?) async throws -> String? {
        let user = try await existing(username)
        let chosen = try password.map { password in try Self.checked { try Validate.password(password) } }
        let actual = chosen ?? FirstAdmin.randomPassword()
        _ = try await database.updateUser(id: user.id, passwordHash: try hasher.hash(actual), by: Self.actor)
        return chosen == nil ? actual : nil
    }

    public func setDisabled(username: String, disabled: Bool) async throws {
        let user = try await existing(username)
        _ = try await database.updateUser(id: user.id, disabled: disabled, by: Self.actor)
    }

    private func existing(_ username: String) async throws -> UserRecord {
        guard let user = try await database.user(username: username) else {
            throw UserAdministrationError("no user named \(username); see `user list`")
        }
        return user
    }

    private static func checked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as APIError {
            throw UserAdministrationError(error.message)
        }
    }
}

/// A CLI-facing error with a one-line message.
public struct UserAdministrationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
