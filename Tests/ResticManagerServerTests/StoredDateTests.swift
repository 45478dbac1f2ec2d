import Foundation
import GRDB
import Testing

@testable import ResticManagerServer

@Suite("StoredDate")
struct StoredDateTests {
    @Test("writes exactly the text GRDB stores for a Date")
    func matchesGRDB() {
        var random = SystemRandomNumberGenerator()
        // Around now at sub-millisecond steps (rounding at each boundary),
        // then anywhere in the fast range and beyond it.
        let now = Date().timeIntervalSinceReferenceDate
        let intervals =
            (0..<20_000).map { now + Double($0) * 0.000_123_456_7 }
            + (0..<20_000).map { _ in Double.random(in: -3.2e9...2.5e11, using: &random) }
            + [-3.2e9, -3.156e9, 2.52e11, 2.6e11, 0, 0.0005, -0.0005, 0.9995, -1e-9]
        for interval in intervals {
            let date = Date(timeIntervalSinceReferenceDate: interval)
            #expect(StoredDate.text(date) == String.fromDatabaseValue(date.databaseValue), "\(interval)")
        }
    }
}
