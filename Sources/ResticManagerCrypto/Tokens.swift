import CSodium

/// What a bearer token grants; the prefix makes a leaked token recognisable
/// (log scrubbers, secret scanners) and routes it to the right table.
public enum TokenKind: String, Sendable, CaseIterable {
    /// Browser session cookie.
    case session = "rms_"
    /// API token for scripts.
    case api = "rma_"
    /// Long-lived credential of one agent (bound to its host).
    case agent = "rmg_"
    /// One-time enrollment token an agent trades for an agent token.
    case enrollment = "rme_"

    /// The readable prefix, e.g. `rms_`.
    public var prefix: String { rawValue }
}

/// A freshly issued token: hand `plaintext` to the client once, store only `hash`.
public struct IssuedToken: Sendable {
    /// Prefix plus 43 base64url characters; never stored or logged.
    public let plaintext: String
    /// Lowercase hex SHA-256 of `plaintext`, the only form that is stored.
    public let hash: String
}

/// Issuing, hashing and comparing bearer tokens (SPEC §8).
///
/// Tokens carry 256 bits of randomness, so a plain SHA-256 is enough to store
/// them (no salt or slow hash needed: nothing to brute-force), and a stolen
/// database hands over no usable credential.
public enum Tokens {
    /// Random bytes per token.
    static let randomByteCount = 32
    /// base64url of 32 bytes without padding.
    static let encodedLength = 43

    /// A new token of `kind`: prefix + base64url(32 random bytes, no padding).
    public static func issue(_ kind: TokenKind) -> IssuedToken {
        let plaintext = kind.prefix + randomValue()
        return IssuedToken(plaintext: plaintext, hash: hash(plaintext))
    }

    /// 256 random bits as 43 base64url characters, without a prefix: for
    /// secrets that are not tokens (a first password, a form nonce).
    public static func randomValue() -> String {
        CryptoRuntime.requireReady()
        var random = CryptoRuntime.randomBytes(randomByteCount)
        defer { random.wipe() }
        return SodiumEncoding.base64(random, variant: SodiumEncoding.base64URL)
    }

    /// Lowercase hex SHA-256 of the token's UTF-8 bytes (prefix included).
    public static func hash(_ plaintext: String) -> String {
        CryptoRuntime.initialize()
        let input = Array(plaintext.utf8)
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
        _ = input.withUnsafeBufferPointer { source in
            crypto_hash_sha256(&digest, source.baseAddress, UInt64(source.count))
        }
        return SodiumEncoding.hex(digest)
    }

    /// True when `a` and `b` are byte-for-byte equal. For equal lengths the
    /// time does not depend on where they differ; lengths are not secret
    /// (stored hashes are always 64 characters).
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        guard !left.isEmpty else { return true }
        CryptoRuntime.initialize()
        return left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in sodium_memcmp(l.baseAddress!, r.baseAddress!, l.count) == 0 }
        }
    }

    /// The kind of a well-formed token: a known prefix followed by exactly 43
    /// base64url characters. Anything else, including a bare prefix, is nil,
    /// so garbage is turned away before it reaches the database.
    public static func kind(of plaintext: String) -> TokenKind? {
        guard let kind = TokenKind.allCases.first(where: { plaintext.hasPrefix($0.prefix) }) else { return nil }
        let body = plaintext.utf8.dropFirst(kind.prefix.utf8.count)
        guard body.count == encodedLength, body.allSatisfy(isBase64URL) else { return nil }
        return kind
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}
