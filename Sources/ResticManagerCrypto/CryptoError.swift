/// Everything that can go wrong in ``ResticManagerCrypto``.
///
/// Messages name the file or operation and say what to do next. They never
/// contain key bytes, plaintexts, passwords or tokens, so they are safe to log
/// and to show to an operator.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key file exists but does not hold exactly ``SecretKey/byteCount`` bytes.
    case keyFileWrongSize(path: String, size: Int)
    /// The key file grants permissions to group or others (`mode` is the permission bits).
    case keyFileInsecurePermissions(path: String, mode: UInt32)
    /// The key file exists but cannot be opened or read (or is not a regular file).
    case keyFileUnreadable(path: String, reason: String)
    /// The key file is missing and a new one could not be written.
    case keyFileNotCreatable(path: String, reason: String)
    /// Key material handed to ``SecretKey/init(bytes:)`` has the wrong length.
    case invalidKeyLength(Int)
    /// Authentication failed: wrong key, wrong associated data, or tampered ciphertext.
    case decryptionFailed
    /// libsodium refused to encrypt (should not happen for in-memory sizes).
    case encryptionFailed
    /// The sealed value is too short or carries an unknown format version.
    case malformedCiphertext
    /// argon2 refused to hash (the string is argon2's own error message, or a parameter complaint).
    case hashingFailed(String)
    /// libsodium could not initialise, so no secure random numbers are available.
    case randomUnavailable

    public var description: String {
        switch self {
        case .keyFileWrongSize(let path, let size):
            return "Secret key file \(path) holds \(size) bytes but must hold exactly \(SecretKey.byteCount). "
                + "Restore the original file from a backup; only if no secrets were ever stored, delete it "
                + "and a new key is generated at the next start."
        case .keyFileInsecurePermissions(let path, let mode):
            return "Secret key file \(path) has mode \(String(mode, radix: 8)), which lets group or others "
                + "access it. Run `chmod 600 \(path)` and start again."
        case .keyFileUnreadable(let path, let reason):
            return "Secret key file \(path) cannot be read: \(reason). Check that it is a regular file owned "
                + "by the user running the server."
        case .keyFileNotCreatable(let path, let reason):
            return "Secret key file \(path) is missing and could not be created: \(reason). Check that the "
                + "data directory exists and is writable by the user running the server."
        case .invalidKeyLength(let length):
            return "A secret key must be exactly \(SecretKey.byteCount) bytes, got \(length). "
                + "Pass the raw bytes of secret.key, not a hex or base64 encoding of them."
        case .decryptionFailed:
            return "A stored secret could not be decrypted: it was encrypted with a different secret.key, "
                + "belongs to another record, or was altered. Restore the matching secret.key or enter the "
                + "secret again."
        case .encryptionFailed:
            return "Encrypting a secret failed inside libsodium. Check the libsodium installation."
        case .malformedCiphertext:
            return "A stored secret is not in a recognised encrypted format (truncated or unknown version). "
                + "Enter the secret again."
        case .hashingFailed(let reason):
            return "Password hashing failed: \(reason). Check the argon2 parameters and available memory."
        case .randomUnavailable:
            return "libsodium failed to initialise, so no secure random source is available. Check that "
                + "the kernel's getrandom(2) or /dev/urandom is usable."
        }
    }
}
