import Foundation
import Testing

@testable import ResticManagerCrypto

@Suite("Secret key file")
struct SecretKeyFileTests {
    @Test func createdWithMode0600AndReloaded() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            let (first, created) = try SecretKey.loadOrCreate(at: path)
            #expect(created)
            #expect(try permissions(path) == 0o600)
            let bytes = try readFile(path)
            #expect(bytes.count == 32)

            let (second, createdAgain) = try SecretKey.loadOrCreate(at: path)
            #expect(!createdAgain)
            #expect(try readFile(path) == bytes)
            let sealed = try SecretBox(key: first).seal("value", associatedData: "row")
            #expect(try SecretBox(key: second).open(sealed, associatedData: "row") == "value")
            #expect(try SecretBox(key: SecretKey(bytes: bytes)).open(sealed, associatedData: "row") == "value")
        }
    }

    @Test func existingKeyIsNeverOverwritten() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            let original = [UInt8]((0..<32).map { UInt8($0 * 3) })
            try writeFile(path, bytes: original, mode: 0o600)
            for _ in 0..<3 {
                let (key, created) = try SecretKey.loadOrCreate(at: path)
                #expect(!created)
                let sealed = try SecretBox(key: key).seal("v", associatedData: "r")
                #expect(try SecretBox(key: SecretKey(bytes: original)).open(sealed, associatedData: "r") == "v")
            }
            #expect(try readFile(path) == original)
        }
    }

    @Test(arguments: [0, 31, 33, 64])
    func wrongSizeIsRefusedAndLeftAlone(size: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            let content = [UInt8](repeating: 0xAB, count: size)
            try writeFile(path, bytes: content, mode: 0o600)
            let error = cryptoError { () throws(CryptoError) in try SecretKey.loadOrCreate(at: path) }
            #expect(error == .keyFileWrongSize(path: path, size: size))
            #expect(try readFile(path) == content)
        }
    }

    @Test(arguments: [0o640, 0o644, 0o604, 0o620, 0o660, 0o602, 0o700 | 0o001])
    func groupOrOtherPermissionsAreRefused(mode: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            try writeFile(path, bytes: [UInt8](repeating: 1, count: 32), mode: mode)
            let error = cryptoError { () throws(CryptoError) in try SecretKey.loadOrCreate(at: path) }
            #expect(error == .keyFileInsecurePermissions(path: path, mode: UInt32(mode)))
            #expect(error?.description.contains("chmod 600 \(path)") == true)
        }
    }

    @Test func ownerOnlyModesAreAccepted() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            try writeFile(path, bytes: [UInt8](repeating: 1, count: 32), mode: 0o400)
            #expect(try SecretKey.loadOrCreate(at: path).created == false)
        }
    }

    @Test func directoryAtKeyPathIsUnreadable() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/secret.key"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            let error = cryptoError { () throws(CryptoError) in try SecretKey.loadOrCreate(at: path) }
            guard case .keyFileUnreadable(path, _) = error else {
                Issue.record("expected keyFileUnreadable, got \(String(describing: error))")
                return
            }
        }
    }

    @Test func missingDirectoryIsNotCreatable() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/missing/secret.key"
            let error = cryptoError { () throws(CryptoError) in try SecretKey.loadOrCreate(at: path) }
            guard case .keyFileNotCreatable(path, _) = error else {
                Issue.record("expected keyFileNotCreatable, got \(String(describing: error))")
                return
            }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    /// O_EXCL: when several starts race, exactly one creates the key and all get the same one.
    @Test func concurrentFirstStartsAgreeOnOneKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rm-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.path + "/secret.key"

        let results = try await withThrowingTaskGroup(of: (SecretKey, Bool).self) { group in
            for _ in 0..<16 {
                group.addTask { try SecretKey.loadOrCreate(at: path) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter(\.1).count == 1)
        let reference = try SecretBox(key: SecretKey(bytes: readFile(path)))
        for (key, _) in results {
            let sealed = try SecretBox(key: key).seal("v", associatedData: "r")
            #expect(try reference.open(sealed, associatedData: "r") == "v")
        }
    }
}
