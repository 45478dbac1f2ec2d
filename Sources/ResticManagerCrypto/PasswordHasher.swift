import CArgon2
import CSodium

/// Result of checking a password against a stored PHC string.
public enum PasswordVerification: Sendable, Equatable {
    /// Wrong password, or the stored string is not a hash we accept.
    case invalid
    /// Right password. `needsRehash` is true when the stored hash was made
    /// with parameters other than the hasher's: store a fresh ``PasswordHasher/hash(_:)``.
    case valid(needsRehash: Bool)
}

/// Hashes and verifies user passwords with argon2id (SPEC §8).
///
/// Uses libargon2 rather than libsodium's `crypto_pwhash`: libsodium fixes
/// parallelism at 1, and the spec asks for the RFC 9106 parameters with p=4.
/// libsodium is still used for the salt and the constant-time comparison.
///
/// Each full-cost call takes 64 MiB and a few hundred milliseconds of CPU,
/// so callers should rate-limit logins before hashing, and run it off the
/// event loop.
public struct PasswordHasher: Sendable {
    /// Parameters for new hashes, and the yardstick for `needsRehash`.
    public let parameters: Argon2Parameters

    public init(parameters: Argon2Parameters = .rfc9106) {
        self.parameters = parameters
    }

    /// Hashes `password` (its UTF-8 bytes, as given) with a fresh random salt.
    ///
    /// - Returns: a PHC string, `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`.
    public func hash(_ password: String) throws(CryptoError) -> String {
        try CryptoRuntime.ensureReady()
        guard PHCString.Limits.saltLength.contains(parameters.saltLength) else {
            throw .hashingFailed("salt length \(parameters.saltLength) is outside \(PHCString.Limits.saltLength)")
        }
        guard PHCString.Limits.hashLength.contains(parameters.hashLength) else {
            throw .hashingFailed("hash length \(parameters.hashLength) is outside \(PHCString.Limits.hashLength)")
        }
        let salt = CryptoRuntime.randomBytes(parameters.saltLength)
        let derived = try Self.derive(password, salt: salt, parameters: parameters)
        let phc = PHCString(parameters: parameters, salt: salt, hash: derived)
        // Only hashes that verify() would accept leave this function, so a
        // too-generous parameter set fails loudly here rather than locking
        // everyone out later.
        guard PHCString(parsing: phc.encoded) == phc else {
            throw .hashingFailed("parameters \(parameters) exceed the limits accepted when verifying")
        }
        return phc.encoded
    }

    /// Checks `password` against a stored PHC string, in time independent of
    /// where the hashes differ.
    ///
    /// The cost parameters are read from `phc`, so hashes made with older
    /// parameters still verify. Malformed or out-of-bounds strings give
    /// ``PasswordVerification/invalid``.
    public func verify(_ password: String, against phc: String) -> PasswordVerification {
        guard CryptoRuntime.isReady, let stored = PHCString(parsing: phc) else { return .invalid }
        guard var derived = try? Self.derive(password, salt: stored.salt, parameters: stored.parameters) else {
            return .invalid
        }
        defer { derived.wipe() }
        // Same length by construction (hashLength comes from the stored hash).
        let equal = derived.withUnsafeBytes { a in
            stored.hash.withUnsafeBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
        guard equal else { return .invalid }
        return .valid(needsRehash: stored.parameters != parameters)
    }

    /// Burns the same time as a real verify, for unknown users (login timing equalisation).
    ///
    /// Runs argon2id with the hasher's own parameters, which is what the
    /// stored hash of an existing, up-to-date user costs.
    public func verifyDummy(_ password: String) {
        guard CryptoRuntime.isReady else { return }
        let salt = [UInt8](repeating: 0x5A, count: max(parameters.saltLength, 8))
        guard var derived = try? Self.derive(password, salt: salt, parameters: parameters) else { return }
        // Compare like verify() does, so the two paths do the same work.
        let reference = [UInt8](repeating: 0, count: derived.count)
        _ = derived.withUnsafeBytes { a in
            reference.withUnsafeBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) }
        }
        derived.wipe()
    }

    /// Raw argon2id v1.3 over the UTF-8 bytes of `password`.
    private static func derive(
        _ password: String,
        salt: [UInt8],
        parameters: Argon2Parameters
    ) throws(CryptoError) -> [UInt8] {
        guard parameters.hashLength > 0 else { throw .hashingFailed("hash length must be positive") }
        var passwordBytes = Array(password.utf8)
        defer { passwordBytes.wipe() }
        var output = [UInt8](repeating: 0, count: parameters.hashLength)
        let status = passwordBytes.withUnsafeBytes { pwd in
            salt.withUnsafeBytes { saltBytes in
                output.withUnsafeMutableBytes { out in
                    argon2id_hash_raw(
                        parameters.iterations,
                        parameters.memoryKiB,
                        parameters.parallelism,
                        pwd.baseAddress,
                        pwd.count,
                        saltBytes.baseAddress,
                        saltBytes.count,
                        out.baseAddress,
                        out.count
                    )
                }
            }
        }
        guard status == ARGON2_OK.rawValue else {
            output.wipe()
            throw .hashingFailed(String(cString: argon2_error_message(status)))
        }
        return output
    }
}
