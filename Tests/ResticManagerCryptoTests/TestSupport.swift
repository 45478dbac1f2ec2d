import Foundation

@testable import ResticManagerCrypto

/// argon2id parameters cheap enough for unit tests (64 KiB, one pass).
let cheapParameters = Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 2, hashLength: 32, saltLength: 16)

/// A fresh directory under the system temp dir, removed after `body`.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("rm-crypto-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

func writeFile(_ path: String, bytes: [UInt8], mode: Int) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}

func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// Runs `body` and returns the CryptoError it threw, or nil.
func cryptoError<R>(_ body: () throws(CryptoError) -> R) -> CryptoError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
