import Foundation
import QuarryCore

/// A calendar month in UTC, the period monthly quotas count over: `"2026-12"` in the store.
public struct UsagePeriod: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The year (four digits).
    public let year: Int
    /// The month, 1-12.
    public let month: Int

    /// The month `year`-`month`.
    /// - Throws: `QuarryError(.invalidRequest)` for a month outside 1-12 or a year outside
    ///   1970-9999.
    public init(year: Int, month: Int) throws {
        guard (1970...9999).contains(year), (1...12).contains(month) else {
            throw QuarryError(.invalidRequest, "\(year)-\(month) is not a month from 1970-01 to 9999-12")
        }
        self.year = year
        self.month = month
    }

    /// The month `text` names, written `YYYY-MM`.
    /// - Throws: `QuarryError(.invalidRequest)` for another shape.
    public init(_ text: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 4, parts[1].utf8.count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), parts.allSatisfy({ $0.utf8.allSatisfy { (0x30...0x39).contains($0) } })
        else {
            throw QuarryError(.invalidRequest, "'\(text)' is not a month: write it YYYY-MM, for example 2026-12")
        }
        try self.init(year: year, month: month)
    }

    /// The month, in UTC, that contains `date` (dates before 1970 count as 1970-01, dates
    /// after 9999 as 9999-12).
    public init(containing date: Date) {
        let days = (date.timeIntervalSince1970 / 86_400).rounded(.down)
        let (year, month, _) = Self.civil(fromDays: days >= 0 ? Int(min(days, Double(Self.lastDay))) : 0)
        self.year = year
        self.month = month
    }

    /// 9999-12-31, in days since 1970-01-01.
    static let lastDay = 2_932_896

    /// `YYYY-MM`, as the store keeps it.
    public var id: String {
        "\(year)-" + (month < 10 ? "0\(month)" : String(month))
    }

    public var description: String { id }

    /// The month after this one (9999-12 is its own successor).
    public var next: UsagePeriod {
        if month == 12 {
            return year >= 9999 ? self : UsagePeriod(unchecked: year + 1, 1)
        }
        return UsagePeriod(unchecked: year, month + 1)
    }

    /// Midnight UTC on the first day of the month.
    public var start: Date {
        Date(timeIntervalSince1970: Double(Self.days(fromCivil: year, month, 1)) * 86_400)
    }

    /// When the month's quotas reset: the start of the next month.
    public var resetsAt: Date { next.start }

    /// The day the quotas reset, `YYYY-MM-DD` (`2027-01-01`).
    public var resetDay: String { next.id + "-01" }

    public static func < (lhs: UsagePeriod, rhs: UsagePeriod) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    private init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }

    // Days since 1970-01-01 and back, for the proleptic Gregorian calendar (Howard Hinnant's
    // `days_from_civil` / `civil_from_days`): exact, and free of time-zone settings.
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
