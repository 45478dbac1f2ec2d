import CSodium

/// Encrypts secrets at rest (repository passwords, backend credentials) with
/// XChaCha20-Poly1305-IETF (SPEC §8).
///
/// Layout of a sealed value: `0x01 || nonce (24 bytes) || ciphertext || tag (16 bytes)`.
/// The leading version byte leaves room to change algorithm or key later
/// without guessing. The nonce is random per call; 24 bytes make collisions
/// negligible without any counter state. Callers pass the identity of the row
/// the value belongs to as associated data, so a ciphertext copied into
/// another row fails to open.
public struct SecretBox: Sendable {
    /// Format version written by ``seal(_:associatedData:)``.
    static let version: UInt8 = 0x01
    static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes())
    static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_abytes())
    static let overhead = 1 + nonceLength + tagLength

    private let key: SecretKey

    public init(key: SecretKey) {
        self.key = key
    }

    /// XChaCha20-Poly1305-IETF, random 24-byte nonce per call; output = version byte 0x01 || nonce || ciphertext+tag.
    public func seal(_ plaintext: String, associatedData: String) throws(CryptoError) -> [UInt8] {
        try CryptoRuntime.ensureReady()
        var message = Array(plaintext.utf8)
        defer { message.wipe() }
        let additional = Array(associatedData.utf8)
        let nonce = CryptoRuntime.randomBytes(Self.nonceLength)

        var sealed = [UInt8](repeating: 0, count: Self.overhead + message.count)
        sealed[0] = Self.version
        sealed.replaceSubrange(1...Self.nonceLength, with: nonce)
        var cipherLength: UInt64 = 0
        let status = sealed.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer { m in
                additional.withUnsafeBufferPointer { ad in
                    key.withBytes { k in
                        crypto_aead_xchacha20poly1305_ietf_encrypt(
                            out.baseAddress! + 1 + Self.nonceLength,
                            &cipherLength,
                            m.baseAddress,
                            UInt64(m.count),
                            ad.baseAddress,
                            UInt64(ad.count),
                            nil,
                            nonce,
                            k
                        )
                    }
                }
            }
        }
        // Cannot fail for in-range lengths; treat it as a broken library.
        guard status == 0, Int(cipherLength) == message.count + Self.tagLength else {
            throw .encryptionFailed
        }
        return sealed
    }

    /// Opens a value made by ``seal(_:associatedData:)`` with the same key and associated data.
    ///
    /// - Throws: ``CryptoError/malformedCiphertext`` when too short or of an unknown
    ///   version, ``CryptoError/decryptionFailed`` when authentication fails.
    public func open(_ sealed: [UInt8], associatedData: String) throws(CryptoError) -> String {
        try CryptoRuntime.ensureReady()
        guard sealed.count >= Self.overhead, sealed[0] == Self.version else { throw .malformedCiphertext }
        let additional = Array(associatedData.utf8)
        let cipherLength = sealed.count - 1 - Self.nonceLength
        var message = [UInt8](repeating: 0, count: cipherLength - Self.tagLength)
        defer { message.wipe() }
        var messageLength: UInt64 = 0
        let status = sealed.withUnsafeBufferPointer { input in
            message.withUnsafeMutableBufferPointer { out in
                additional.withUnsafeBufferPointer { ad in
                    key.withBytes { k in
                        crypto_aead_xchacha20poly1305_ietf_decrypt(
                            out.baseAddress,
                            &messageLength,
                            nil,
                            input.baseAddress! + 1 + Self.nonceLength,
                            UInt64(cipherLength),
                            ad.baseAddress,
                            UInt64(ad.count),
                            input.baseAddress! + 1,
                            k
                        )
                    }
                }
            }
        }
        guard status == 0 else { throw .decryptionFailed }
        // Authentic data was sealed from a String, so it is valid UTF-8.
        guard let text = String(validating: message.prefix(Int(messageLength)), as: UTF8.self) else {
            throw .malformedCiphertext
        }
        return text
    }
}
