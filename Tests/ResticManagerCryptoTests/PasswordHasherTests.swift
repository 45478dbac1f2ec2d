import Foundation
import Testing

@testable import ResticManagerCrypto

@Suite("Password hashing")
struct PasswordHasherTests {
    let hasher = PasswordHasher(parameters: cheapParameters)

    /// The only test that pays the full RFC 9106 cost (64 MiB, t=3, p=4): three argon2 runs.
    @Test func defaultParametersRoundTripInPHCFormat() throws {
        let hasher = PasswordHasher()
        #expect(hasher.parameters == .rfc9106)
        let phc = try hasher.hash("correct horse battery staple")
        let format = #/^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/#
        #expect(phc.wholeMatch(of: format) != nil, "\(phc)")
        #expect(hasher.verify("correct horse battery staple", against: phc) == .valid(needsRehash: false))
        hasher.verifyDummy("whatever")
    }

    @Test func cheapParametersAppearInPHCString() throws {
        let phc = try hasher.hash("password")
        #expect(phc.hasPrefix("$argon2id$v=19$m=64,t=1,p=2$"))
    }

    @Test(arguments: [
        "correct horse battery staple", "", "pässwörd 🔑 with spaces", String(repeating: "x", count: 4096),
    ])
    func roundTrip(password: String) throws {
        let phc = try hasher.hash(password)
        #expect(hasher.verify(password, against: phc) == .valid(needsRehash: false))
    }

    @Test func wrongPasswordIsInvalid() throws {
        let phc = try hasher.hash("correct horse battery staple")
        #expect(hasher.verify("correct horse battery stapler", against: phc) == .invalid)
        #expect(hasher.verify("", against: phc) == .invalid)
        #expect(hasher.verify("Correct horse battery staple", against: phc) == .invalid)
    }

    @Test func saltMakesEveryHashDifferent() throws {
        let first = try hasher.hash("same password")
        let second = try hasher.hash("same password")
        #expect(first != second)
        #expect(hasher.verify("same password", against: first) == .valid(needsRehash: false))
        #expect(hasher.verify("same password", against: second) == .valid(needsRehash: false))
    }

    /// Hashes made with other parameters still verify (parameters are read
    /// from the string) and ask to be re-hashed.
    @Test(arguments: [
        Argon2Parameters(memoryKiB: 32, iterations: 1, parallelism: 2, hashLength: 32, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 2, parallelism: 2, hashLength: 32, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 1, hashLength: 32, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 2, hashLength: 16, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 2, hashLength: 32, saltLength: 8),
    ])
    func otherParametersVerifyAndNeedRehash(old: Argon2Parameters) throws {
        let phc = try PasswordHasher(parameters: old).hash("password")
        #expect(hasher.verify("password", against: phc) == .valid(needsRehash: true))
        #expect(hasher.verify("wrong", against: phc) == .invalid)
        #expect(PasswordHasher(parameters: old).verify("password", against: phc) == .valid(needsRehash: false))
    }

    @Test func malformedPHCStringsAreInvalid() throws {
        let valid = try hasher.hash("password")
        let parts = valid.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        let (salt, hash) = (parts[4], parts[5])
        func phc(
            version: String = "v=19",
            costs: String = "m=64,t=1,p=2",
            s: String? = nil,
            h: String? = nil
        )
            -> String
        {
            "$argon2id$\(version)$\(costs)$\(s ?? salt)$\(h ?? hash)"
        }
        #expect(phc() == valid)

        let malformed = [
            "", "$", "garbage", "$argon2id$", "argon2id$v=19$m=64,t=1,p=2$\(salt)$\(hash)",
            valid.replacingOccurrences(of: "$argon2id$", with: "$argon2i$"),
            valid.replacingOccurrences(of: "$argon2id$", with: "$argon2d$"),
            valid.replacingOccurrences(of: "$argon2id$", with: "$ARGON2ID$"),
            valid + "$", valid + "$extra", "x" + valid,
            "$argon2id$m=64,t=1,p=2$\(salt)$\(hash)",  // no version
            phc(version: "v=16"), phc(version: "v=019"), phc(version: "v=0x13"),
            phc(costs: "m=0,t=1,p=2"), phc(costs: "m=64,t=0,p=2"), phc(costs: "m=64,t=1,p=0"),
            phc(costs: "m=064,t=1,p=2"), phc(costs: "m=+64,t=1,p=2"), phc(costs: "m=-64,t=1,p=2"),
            phc(costs: "m=64,t=1"), phc(costs: "m=64,t=1,p=2,k=1"), phc(costs: "t=1,m=64,p=2"),
            phc(costs: "m=64,t=1,p=2,"), phc(costs: "m=,t=1,p=2"), phc(costs: "m=6 4,t=1,p=2"),
            phc(costs: "m=٦٤,t=1,p=2"),  // non-ASCII digits
            phc(costs: "m=4294967296,t=1,p=2"), phc(costs: "m=99999999999999999999,t=1,p=2"),
            phc(costs: "m=1048577,t=1,p=2"),  // just over the 1 GiB cap
            phc(costs: "m=4294967295,t=1,p=1"), phc(costs: "m=65536,t=1000000,p=4"),
            phc(costs: "m=65536,t=3,p=255"), phc(costs: "m=8,t=1,p=2"),  // m < 8·p
            phc(s: ""), phc(h: ""), phc(s: salt + "=="), phc(h: hash + "="),
            phc(s: "AAAAAAA"),  // 5-byte salt, under the minimum
            phc(h: String(hash.dropLast(2))),  // 41 characters: no byte string has that length
            phc(s: salt.replacingOccurrences(of: String(salt.prefix(1)), with: "*")),
            phc(h: String(repeating: "A", count: 200)),
            phc(s: "-_" + salt.dropFirst(2)),  // URL-safe alphabet is not PHC
            phc(h: String(hash.dropLast()) + "B"),  // non-zero trailing bits
            valid.replacingOccurrences(of: "$", with: "$ "),
            String(repeating: "$argon2id", count: 10_000),
        ]
        for candidate in malformed {
            #expect(PHCString(parsing: candidate) == nil, "\(candidate.prefix(120))")
            #expect(hasher.verify("password", against: candidate) == .invalid, "\(candidate.prefix(120))")
        }
        // Well-formed but with another hash length (16 and 33 bytes): parses, and simply does not match.
        for wellFormed in [phc(h: "AAAAAAAAAAAAAAAAAAAAAA"), phc(h: hash + "A")] {
            #expect(PHCString(parsing: wellFormed) != nil)
            #expect(hasher.verify("password", against: wellFormed) == .invalid)
        }
    }

    @Test func phcParserAcceptsWhatHashWrites() throws {
        let phc = try hasher.hash("password")
        let parsed = try #require(PHCString(parsing: phc))
        #expect(parsed.parameters == cheapParameters)
        #expect(parsed.encoded == phc)
    }

    @Test(arguments: [
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 2, hashLength: 32, saltLength: 4),
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 2, hashLength: 0, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 2, hashLength: -1, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 0, parallelism: 2, hashLength: 32, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 0, hashLength: 32, saltLength: 16),
        Argon2Parameters(memoryKiB: 4, iterations: 1, parallelism: 2, hashLength: 32, saltLength: 16),
        Argon2Parameters(memoryKiB: 64, iterations: 65, parallelism: 2, hashLength: 32, saltLength: 16),
    ])
    func unusableParametersThrow(parameters: Argon2Parameters) {
        let error = cryptoError { () throws(CryptoError) in try PasswordHasher(parameters: parameters).hash("pw") }
        guard case .hashingFailed = error else {
            Issue.record("expected hashingFailed, got \(String(describing: error))")
            return
        }
    }

    @Test func verifyDummyDoesNotCrash() {
        hasher.verifyDummy("password")
        hasher.verifyDummy("")
        PasswordHasher(parameters: .init(memoryKiB: 0, iterations: 0, parallelism: 0, hashLength: 0, saltLength: 0))
            .verifyDummy("bad parameters must not crash either")
    }
}
