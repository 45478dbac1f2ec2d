import Foundation
import Testing

/// Rules of the code's shape that Swift's access control cannot state: the
/// store's transactions and engines are internal because its extensions
/// live in several files, so this test keeps SQL and database handles inside
/// `Store/`.
@Suite struct HouseRulesTests {
    static let serverSources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ResticManagerServer")

    @Test func onlyTheStoreWritesSQLOrTouchesTheDatabaseWriter() throws {
        let forbidden = [
            "sql:", "db.execute", "Row.fetch", "StoreTransaction", "tx.execute", "sqliteWriter", ".engine.",
        ]
        var offenders: [String] = []
        let files = FileManager.default.enumerator(at: Self.serverSources, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift", !url.path.contains("/Store/") else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            for pattern in forbidden where text.contains(pattern) {
                offenders.append("\(url.lastPathComponent): \(pattern)")
            }
        }
        #expect(offenders.isEmpty, "move these queries into an intent-named method in Store/: \(offenders)")
    }
}
