import Foundation
import QuarryCore

/// A calendar day in UTC, the period daily budgets count over: `"2026-12-15"` in the store.
public struct UsageDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let daysSinceEpoch: Int

    /// The day `year`-`month`-`day`.
    /// - Throws: `QuarryError(.invalidRequest)` for a day that is not in the calendar (2026-02-30)
    ///   or outside 1970-01-01...9999-12-31.
    public init(year: Int, month: Int, day: Int) throws {
        guard (1970...9999).contains(year), (1...12).contains(month), (1...Self.length(ofMonth: month, in: year)).contains(day) else {
            throw QuarryError(.invalidRequest, "\(year)-\(month)-\(day) is not a day from 1970-01-01 to 9999-12-31")
        }
        daysSinceEpoch = UsagePeriod.days(fromCivil: year, month, day)
    }

    /// The day `text` names, written `YYYY-MM-DD`.
    /// - Throws: `QuarryError(.invalidRequest)` for another shape or a day not in the calendar.
    public init(_ text: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 4, parts[1].utf8.count == 2, parts[2].utf8.count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else {
            throw QuarryError(.invalidRequest, "'\(text)' is not a day: write it YYYY-MM-DD, for example 2026-12-15")
        }
        do {
            try self.init(year: year, month: month, day: day)
        } catch {
            throw QuarryError(.invalidRequest, "'\(text)' is not a day from 1970-01-01 to 9999-12-31")
        }
    }

    /// The day, in UTC, that contains `date` (dates before 1970 count as 1970-01-01, dates after
    /// 9999 as 9999-12-31).
    public init(containing date: Date) {
        let days = (date.timeIntervalSince1970 / 86_400).rounded(.down)
        daysSinceEpoch = days >= 0 ? Int(min(days, Double(UsagePeriod.lastDay))) : 0
    }

    private init(unchecked days: Int) {
        daysSinceEpoch = days
    }

    /// The first day, 1970-01-01.
    public static let first = UsageDay(unchecked: 0)
    /// The last day, 9999-12-31.
    public static let last = UsageDay(unchecked: UsagePeriod.lastDay)

    /// The year, month and day of the month.
    public var civil: (year: Int, month: Int, day: Int) { UsagePeriod.civil(fromDays: daysSinceEpoch) }

    /// `YYYY-MM-DD`, as the store keeps it.
    public var id: String {
        let (year, month, day) = civil
        return "\(year)" + (month < 10 ? "-0\(month)" : "-\(month)") + (day < 10 ? "-0\(day)" : "-\(day)")
    }

    public var description: String { id }

    /// The month the day is in.
    public var month: UsagePeriod {
        // The day is within 1970-01-01...9999-12-31, so its month is too.
        UsagePeriod(containing: start)
    }

    /// The first day of the day's month.
    public var firstOfMonth: UsageDay {
        let (year, month, _) = civil
        return UsageDay(unchecked: UsagePeriod.days(fromCivil: year, month, 1))
    }

    /// The last day of the day's month.
    public var lastOfMonth: UsageDay {
        let (year, month, _) = civil
        return UsageDay(unchecked: UsagePeriod.days(fromCivil: year, month, Self.length(ofMonth: month, in: year)))
    }

    /// The day `count` days later (earlier when negative), kept within 1970-01-01...9999-12-31.
    public func adding(days count: Int) -> UsageDay {
        let (sum, overflow) = daysSinceEpoch.addingReportingOverflow(count)
        if overflow { return count > 0 ? .last : .first }
        return UsageDay(unchecked: min(max(sum, 0), UsagePeriod.lastDay))
    }

    /// The day after this one (9999-12-31 is its own successor).
    public var next: UsageDay { adding(days: 1) }

    /// Days from this day to `other`: 0 for the same day, negative when `other` is earlier.
    public func days(to other: UsageDay) -> Int { other.daysSinceEpoch - daysSinceEpoch }

    /// Midnight UTC at the start of the day.
    public var start: Date { Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400) }

    /// When the day's budgets reset: midnight UTC at its end.
    public var resetsAt: Date { Date(timeIntervalSince1970: Double(daysSinceEpoch + 1) * 86_400) }

    /// The day the budgets reset, `YYYY-MM-DD`.
    public var resetDay: String { UsageDay(unchecked: daysSinceEpoch + 1).id }

    public static func < (lhs: UsageDay, rhs: UsageDay) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    /// Days in `month` of `year` (proleptic Gregorian).
    static func length(ofMonth month: Int, in year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
