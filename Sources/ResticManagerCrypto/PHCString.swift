/// An argon2id hash in PHC string format:
/// `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`, salt and hash in standard
/// base64 without padding.
///
/// Parsing is strict and bounded because the string comes from the database,
/// which we do not fully trust: a planted `m=4294967295` must not make a login
/// allocate 4 TiB, and nothing in it may crash the server.
struct PHCString: Equatable {
    var parameters: Argon2Parameters
    var salt: [UInt8]
    var hash: [UInt8]

    /// Upper bounds applied when reading a stored hash. Generous compared with
    /// RFC 9106 (64 MiB, t=3, p=4) so that raised parameters still verify, but
    /// small enough that one hostile row cannot take the server down.
    enum Limits {
        static let maxMemoryKiB: UInt32 = 1 << 20  // 1 GiB
        static let maxIterations: UInt32 = 64
        static let maxParallelism: UInt32 = 64
        static let hashLength = 16...64
        static let saltLength = 8...64
        static let maxEncodedLength = 512
    }

    /// Only version 0x13 (decimal 19), the one libargon2 writes today.
    static let version = 19

    init(parameters: Argon2Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    var encoded: String {
        let salt = SodiumEncoding.base64(salt, variant: SodiumEncoding.base64Standard)
        let hash = SodiumEncoding.base64(hash, variant: SodiumEncoding.base64Standard)
        let p = parameters
        return "$argon2id$v=\(Self.version)$m=\(p.memoryKiB),t=\(p.iterations),p=\(p.parallelism)$\(salt)$\(hash)"
    }

    /// Nil for anything that is not a well-formed argon2id v=19 PHC string within ``Limits``.
    init?(parsing text: String) {
        guard text.utf8.count <= Limits.maxEncodedLength else { return nil }
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].isEmpty, fields[1] == "argon2id", fields[2] == "v=\(Self.version)" else {
            return nil
        }

        let costs = fields[3].split(separator: ",", omittingEmptySubsequences: false)
        guard costs.count == 3,
            let memory = Self.decimal(costs[0], key: "m"),
            let iterations = Self.decimal(costs[1], key: "t"),
            let parallelism = Self.decimal(costs[2], key: "p"),
            (1...Limits.maxMemoryKiB).contains(memory),
            (1...Limits.maxIterations).contains(iterations),
            (1...Limits.maxParallelism).contains(parallelism),
            // argon2 needs at least 8 KiB per lane; checked here so the
            // library is never even asked.
            UInt64(memory) >= 8 * UInt64(parallelism)
        else { return nil }

        guard let salt = SodiumEncoding.decodeBase64(fields[4], variant: SodiumEncoding.base64Standard),
            let hash = SodiumEncoding.decodeBase64(fields[5], variant: SodiumEncoding.base64Standard),
            Limits.saltLength.contains(salt.count),
            Limits.hashLength.contains(hash.count)
        else { return nil }

        self.parameters = Argon2Parameters(
            memoryKiB: memory,
            iterations: iterations,
            parallelism: parallelism,
            hashLength: hash.count,
            saltLength: salt.count
        )
        self.salt = salt
        self.hash = hash
    }

    /// `key=digits`, canonical decimal (no sign, no leading zeros), fitting in UInt32.
    private static func decimal(_ field: Substring, key: Character) -> UInt32? {
        guard field.count >= 3, field.first == key, field.dropFirst().first == "=" else { return nil }
        let digits = field.dropFirst(2)
        guard digits.count <= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if digits.count > 1 && digits.first == "0" { return nil }
        return UInt32(digits)
    }
}
