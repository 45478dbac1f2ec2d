/// Cost parameters for argon2id password hashing.
///
/// Stored hashes carry their own parameters (PHC string), so these can be
/// raised later: old hashes keep verifying and are flagged for re-hashing.
public struct Argon2Parameters: Sendable, Equatable {
    /// Memory cost in KiB (`m`).
    public var memoryKiB: UInt32
    /// Number of passes over memory (`t`).
    public var iterations: UInt32
    /// Lanes and threads (`p`).
    public var parallelism: UInt32
    /// Length of the derived hash in bytes.
    public var hashLength: Int
    /// Length of the random salt in bytes.
    public var saltLength: Int

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32, hashLength: Int, saltLength: Int) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
        self.hashLength = hashLength
        self.saltLength = saltLength
    }

    /// RFC 9106 §4, second recommended option: 64 MiB, t=3, p=4, 32-byte hash, 16-byte salt.
    public static let rfc9106 = Argon2Parameters(
        memoryKiB: 65536,
        iterations: 3,
        parallelism: 4,
        hashLength: 32,
        saltLength: 16
    )
}
