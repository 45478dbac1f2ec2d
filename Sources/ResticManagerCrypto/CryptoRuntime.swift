import CSodium

/// One-time libsodium set-up.
///
/// Every entry point of this module calls it itself; the server may also call
/// ``initialize()`` at start-up so that a broken random source shows up before
/// the first request instead of during it.
public enum CryptoRuntime {
    /// `sodium_init` is thread safe and idempotent, but a lazily initialised
    /// static (run once, under swift_once) keeps the result around so callers
    /// can check it cheaply. Negative means failure.
    private static let sodiumStatus: Int32 = sodium_init()

    /// Initialises libsodium once; safe to call repeatedly and from any thread.
    public static func initialize() {
        _ = sodiumStatus
    }

    /// False when libsodium could not initialise.
    static var isReady: Bool { sodiumStatus >= 0 }

    /// Throws when libsodium could not initialise.
    static func ensureReady() throws(CryptoError) {
        if sodiumStatus < 0 { throw .randomUnavailable }
    }

    /// For the non-throwing APIs (token issuance): continuing without a secure
    /// random source would hand out guessable credentials, so stop instead.
    static func requireReady() {
        if sodiumStatus < 0 {
            fatalError("\(CryptoError.randomUnavailable)")
        }
    }

    /// `count` bytes from libsodium's CSPRNG (getrandom on Linux).
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        if count > 0 {
            bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        }
        return bytes
    }
}
