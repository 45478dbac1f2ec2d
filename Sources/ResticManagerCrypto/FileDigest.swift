import CSodium

/// SHA-256 of whole byte strings, for the checksums the agent installer
/// carries (SPEC §13): the served script and the package it verifies must
/// agree byte for byte.
public enum FileDigest {
    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        CryptoRuntime.initialize()
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
        _ = bytes.withUnsafeBufferPointer { source in
            crypto_hash_sha256(&digest, source.baseAddress, UInt64(source.count))
        }
        return SodiumEncoding.hex(digest)
    }
}
