import CSodium

/// HMAC-SHA256, for signing webhook bodies (SPEC §9.3 `X-RM-Signature`).
public enum MessageAuthentication {
    /// Lowercase hex HMAC-SHA256 of `message` keyed by `key` (any length).
    public static func hmacSHA256Hex(key: [UInt8], message: [UInt8]) -> String {
        CryptoRuntime.requireReady()
        var state = crypto_auth_hmacsha256_state()
        var mac = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        crypto_auth_hmacsha256_init(&state, key, key.count)
        crypto_auth_hmacsha256_update(&state, message, UInt64(message.count))
        crypto_auth_hmacsha256_final(&state, &mac)
        return SodiumEncoding.hex(mac)
    }
}
