import Foundation
import GRDB
import ResticManagerCore

/// Dates as GRDB stores them: the text of `Date.databaseValue`,
/// "yyyy-MM-dd HH:mm:ss.SSS" in UTC, written by hand.
///
/// GRDB formats with a shared `DateFormatter` (ICU), which cost about
/// 1.5 µs per row — a seventh of the server's CPU per ingested log line, on
/// the single writer thread. Same text, same rounding (to the nearest
/// millisecond, as Foundation's formatter does); dates outside the years
/// 1900–9999 go through GRDB, whose calendar is not proleptic before 1582.
public enum StoredDate {
    /// Milliseconds from 1970 to 1900-01-01 and to 10000-01-01.
    private static let fastRange: ClosedRange<Int64> = -2_208_988_800_000...253_402_300_799_999

    public static func text(_ date: Date) -> String {
        let interval = (date.timeIntervalSinceReferenceDate + Date.timeIntervalBetween1970AndReferenceDate) * 1000
        guard interval.isFinite, let milliseconds = Int64(exactly: (interval + 0.5).rounded(.down)),
            fastRange.contains(milliseconds)
        else { return String.fromDatabaseValue(date.databaseValue) ?? "" }
        var days = milliseconds / 86_400_000
        var ofDay = milliseconds % 86_400_000
        if ofDay < 0 {
            ofDay += 86_400_000
            days -= 1
        }
        let civil = CivilCalendar.date(fromDays: Int(days))
        let (year, month, day) = (Int64(civil.year), Int64(civil.month), Int64(civil.day))
        return String(unsafeUninitializedCapacity: 23) { buffer in
            func put(_ value: Int64, digits: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, digits: 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, digits: 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, digits: 2, at: 8)
            buffer[10] = UInt8(ascii: " ")
            put(ofDay / 3_600_000, digits: 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(ofDay / 60_000 % 60, digits: 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(ofDay / 1000 % 60, digits: 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(ofDay % 1000, digits: 3, at: 20)
            return 23
        }
    }
}
