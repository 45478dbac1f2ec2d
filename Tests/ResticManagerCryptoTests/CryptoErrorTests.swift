import Foundation
import Testing

@testable import ResticManagerCrypto

@Suite("Error messages")
struct CryptoErrorTests {
    @Test func keyFileErrorsDoNotLeakKeyBytes() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            let marker = Array("KEYMATERIAL-KEYMATERIAL-KEYMATE".utf8)  // 31 bytes
            try writeFile(path, bytes: marker, mode: 0o600)
            let wrongSize = try #require(cryptoError { () throws(CryptoError) in try SecretKey.loadOrCreate(at: path) })
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            let insecure = try #require(cryptoError { () throws(CryptoError) in try SecretKey.loadOrCreate(at: path) })
            for error in [wrongSize, insecure] {
                #expect(!error.description.contains("KEYMATERIAL"))
                #expect(!error.description.contains(Tokens.hash(String(decoding: marker, as: UTF8.self))))
                #expect(error.description.contains(path))
            }
        }
    }

    @Test func decryptionErrorsDoNotLeakPlaintextOrKey() throws {
        let keyBytes = [UInt8](repeating: 0x41, count: 32)  // "AAAA…"
        let box = SecretBox(key: try SecretKey(bytes: keyBytes))
        let sealed = try box.seal("hunter2-plaintext", associatedData: "row:1")
        let error = try #require(
            cryptoError { () throws(CryptoError) in try box.open(sealed, associatedData: "row:2") }
        )
        #expect(error == .decryptionFailed)
        #expect(!error.description.contains("hunter2"))
        #expect(!error.description.contains("AAAAAAAA"))
        #expect(!String(reflecting: error).contains("hunter2"))
    }

    @Test func hashingErrorsDoNotLeakPassword() {
        let hasher = PasswordHasher(
            parameters: .init(memoryKiB: 64, iterations: 0, parallelism: 2, hashLength: 32, saltLength: 16)
        )
        let error = cryptoError { () throws(CryptoError) in try hasher.hash("hunter2-password") }
        #expect(error != nil)
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test(arguments: [
        CryptoError.keyFileWrongSize(path: "/data/secret.key", size: 31),
        .keyFileInsecurePermissions(path: "/data/secret.key", mode: 0o644),
        .keyFileUnreadable(path: "/data/secret.key", reason: "Permission denied"),
        .keyFileNotCreatable(path: "/data/secret.key", reason: "No such file or directory"),
        .invalidKeyLength(31), .decryptionFailed, .encryptionFailed, .malformedCiphertext,
        .hashingFailed("Memory allocation error"), .randomUnavailable,
    ])
    func everyErrorSaysWhatToDo(error: CryptoError) {
        // Each message has a cause and a next step (a second sentence).
        #expect(error.description.split(separator: ".").count >= 2, "\(error.description)")
        #expect(!error.description.isEmpty)
    }

    @Test func insecurePermissionsPrintOctalMode() {
        let error = CryptoError.keyFileInsecurePermissions(path: "/data/secret.key", mode: 0o644)
        #expect(error.description.contains("mode 644"))
        #expect(error.description.contains("chmod 600 /data/secret.key"))
    }
}
