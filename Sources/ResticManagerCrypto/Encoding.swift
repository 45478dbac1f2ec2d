import CSodium

/// Base64 and hex through libsodium, whose decoder is strict (rejects padding
/// where none is expected, stray characters and non-zero trailing bits) and
/// runs in constant time. Foundation is not needed for it.
enum SodiumEncoding {
    /// `+/` alphabet without `=`, as used by the PHC string format.
    static let base64Standard = sodium_base64_VARIANT_ORIGINAL_NO_PADDING
    /// `-_` alphabet without `=`, safe in URLs, headers and cookies (tokens).
    static let base64URL = sodium_base64_VARIANT_URLSAFE_NO_PADDING

    static func base64(_ bytes: [UInt8], variant: Int32) -> String {
        let capacity = sodium_base64_encoded_len(bytes.count, variant)  // includes the NUL
        var buffer = [CChar](repeating: 0, count: capacity)
        bytes.withUnsafeBufferPointer { input in
            _ = sodium_bin2base64(&buffer, capacity, input.baseAddress, input.count, variant)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Nil unless the whole of `text` is valid base64 in `variant`.
    static func decodeBase64(_ text: Substring, variant: Int32) -> [UInt8]? {
        let input = Array(text.utf8)
        if input.isEmpty { return [] }
        var output = [UInt8](repeating: 0, count: input.count * 3 / 4 + 1)
        var length = 0
        let status = input.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { chars in
                // b64_end nil: anything left unconsumed makes the call fail.
                sodium_base642bin(&output, output.count, chars.baseAddress, chars.count, nil, &length, nil, variant)
            }
        }
        guard status == 0 else { return nil }
        return Array(output.prefix(length))
    }

    /// Lowercase hex.
    static func hex(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: bytes.count * 2 + 1)
        bytes.withUnsafeBufferPointer { input in
            _ = sodium_bin2hex(&buffer, buffer.count, input.baseAddress, input.count)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Best-effort wipe of a secret we copied (Swift may have made other
    /// copies, but ours at least do not linger).
    mutating func wipe() {
        withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }
}
