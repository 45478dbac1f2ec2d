import Testing

@testable import ResticManagerCrypto

@Suite("Secret box")
struct SecretBoxTests {
    let box = SecretBox(key: try! SecretKey(bytes: [UInt8](repeating: 7, count: 32)))

    @Test(arguments: ["s3cr3t-repository-password", "", "ünïcödé 🔐", String(repeating: "long ", count: 10_000)])
    func roundTrip(plaintext: String) throws {
        let sealed = try box.seal(plaintext, associatedData: "repositories:42:password")
        #expect(sealed.count == 1 + 24 + plaintext.utf8.count + 16)
        #expect(sealed[0] == 0x01)
        #expect(try box.open(sealed, associatedData: "repositories:42:password") == plaintext)
    }

    @Test func ciphertextDoesNotContainPlaintext() throws {
        let sealed = try box.seal("AAAAAAAAAAAAAAAAAAAAAAAA", associatedData: "row")
        #expect(!sealed.dropFirst(25).starts(with: Array("AAAAAAAA".utf8)))
    }

    @Test func twoSealsDiffer() throws {
        let first = try box.seal("same", associatedData: "row:1")
        let second = try box.seal("same", associatedData: "row:1")
        #expect(first != second)
        #expect(first[1..<25] != second[1..<25], "nonces must differ")
    }

    @Test func wrongKeyFails() throws {
        let sealed = try box.seal("secret", associatedData: "row:1")
        let other = SecretBox(key: try SecretKey(bytes: [UInt8](repeating: 8, count: 32)))
        #expect(throws: CryptoError.decryptionFailed) { try other.open(sealed, associatedData: "row:1") }
    }

    /// The row is the associated data: a ciphertext copied to another row must not open.
    @Test func ciphertextMovedToAnotherRowFails() throws {
        let sealed = try box.seal("secret", associatedData: "repositories:1:password")
        #expect(throws: CryptoError.decryptionFailed) {
            try box.open(sealed, associatedData: "repositories:2:password")
        }
        #expect(throws: CryptoError.decryptionFailed) { try box.open(sealed, associatedData: "") }
    }

    @Test func everyTamperedByteFails() throws {
        let sealed = try box.seal("secret value", associatedData: "row")
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            let expected: CryptoError = index == 0 ? .malformedCiphertext : .decryptionFailed
            #expect(throws: expected) { try box.open(tampered, associatedData: "row") }
        }
    }

    @Test func truncatedInputFails() throws {
        let sealed = try box.seal("secret value", associatedData: "row")
        for length in 0..<sealed.count {
            let expected: CryptoError = length < 1 + 24 + 16 ? .malformedCiphertext : .decryptionFailed
            #expect(throws: expected) { try box.open(Array(sealed.prefix(length)), associatedData: "row") }
        }
        #expect(throws: CryptoError.decryptionFailed) { try box.open(sealed + [0], associatedData: "row") }
    }

    @Test func unknownVersionIsMalformed() throws {
        var sealed = try box.seal("secret", associatedData: "row")
        sealed[0] = 0x02
        #expect(throws: CryptoError.malformedCiphertext) { try box.open(sealed, associatedData: "row") }
    }

    @Test func keyRejectsWrongLengthAndPrintsNoBytes() throws {
        #expect(throws: CryptoError.invalidKeyLength(31)) { try SecretKey(bytes: [UInt8](repeating: 1, count: 31)) }
        #expect(throws: CryptoError.invalidKeyLength(33)) { try SecretKey(bytes: [UInt8](repeating: 1, count: 33)) }
        #expect(throws: CryptoError.invalidKeyLength(0)) { try SecretKey(bytes: []) }
        let key = try SecretKey(bytes: Array(0..<32))
        for text in [String(describing: key), String(reflecting: key), "\(key)"] {
            #expect(text == "SecretKey(32 bytes, redacted)")
        }
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains("31"), "\(dumped)")
    }
}
