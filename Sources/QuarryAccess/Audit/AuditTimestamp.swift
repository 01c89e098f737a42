import Foundation

/// The one form an audit record writes its time in: ISO 8601 in UTC with milliseconds,
/// `2026-12-03T09:15:02.418Z`, computed from whole milliseconds with integer arithmetic so that
/// it reads the same on every platform and Foundation version (the record is hashed byte for
/// byte).
public enum AuditTimestamp {
    /// `date` to the nearest whole millisecond: the precision a record keeps, so that a record
    /// read back equals the one written.
    public static func rounded(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    /// `date` in the canonical form.
    public static func string(_ date: Date) -> String {
        let total = milliseconds(date)
        let (days, dayMS) = floorDivide(total, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let seconds = dayMS / 1000
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2)
            + ":" + pad(seconds % 60, 2) + "." + pad(dayMS % 1000, 3) + "Z"
    }

    /// Reads the canonical form (exactly as `string` writes it).
    /// - Returns: the date; `nil` when `text` is not in that form.
    public static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A,
            bytes[19] == 0x2E, bytes[23] == 0x5A
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), let millisecond = number(20..<23),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = self.days(fromCivil: year, month, day)
        guard civil(fromDays: days) == (year, month, day) else { return nil }
        let total = days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + millisecond
        return Date(timeIntervalSince1970: Double(total) / 1000)
    }

    static func milliseconds(_ date: Date) -> Int64 {
        // To the nearest: a date made from whole milliseconds converts back to exactly them.
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let quotient = a >= 0 ? a / b : -((-a + b - 1) / b)
        return (quotient, a - quotient * b)
    }

    // The civil-date arithmetic is `UsagePeriod`'s (Howard Hinnant's algorithms), in Int64.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let (year, month, day) = UsagePeriod.civil(fromDays: Int(days))
        return (Int64(year), Int64(month), Int64(day))
    }

    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        Int64(UsagePeriod.days(fromCivil: Int(year), Int(month), Int(day)))
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
