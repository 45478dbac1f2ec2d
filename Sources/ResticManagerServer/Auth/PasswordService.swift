import NIOPosix
import ResticManagerCrypto

/// Runs argon2id off the cooperative thread pool: one hash costs 64 MiB and
/// a few hundred milliseconds, which must not stall other requests.
struct PasswordService: Sendable {
    static let minimumLength = 12
    static let maximumLength = 1024

    let hasher: PasswordHasher
    let threadPool: NIOThreadPool

    func hash(_ password: String) async throws -> String {
        try await threadPool.runIfActive { try hasher.hash(password) }
    }

    func verify(_ password: String, against phc: String) async throws -> PasswordVerification {
        try await threadPool.runIfActive { hasher.verify(password, against: phc) }
    }

    /// Takes as long as `verify`, for usernames that do not exist.
    func verifyDummy(_ password: String) async throws {
        try await threadPool.runIfActive { hasher.verifyDummy(password) }
    }

    /// Why `password` is not acceptable as a new password, or nil.
    static func weakness(of password: String) -> String? {
        if password.count < minimumLength { return "must be at least \(minimumLength) characters" }
        if password.utf8.count > maximumLength { return "must be at most \(maximumLength) bytes" }
        return nil
    }
}
