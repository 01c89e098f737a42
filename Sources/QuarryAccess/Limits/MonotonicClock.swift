/// A point on a monotonic timeline: the time elapsed since the origin of the clock that made it.
/// Instants of different clocks cannot be compared.
public struct MonotonicInstant: Sendable, Hashable, Comparable {
    /// The time since the clock's origin.
    public var sinceOrigin: Duration

    /// Creates an instant `sinceOrigin` after the origin.
    public init(sinceOrigin: Duration) {
        self.sinceOrigin = sinceOrigin
    }

    /// The clock's origin.
    public static let origin = MonotonicInstant(sinceOrigin: .zero)

    /// The instant `duration` later.
    public func advanced(by duration: Duration) -> MonotonicInstant {
        MonotonicInstant(sinceOrigin: sinceOrigin + duration)
    }

    /// Seconds from `earlier` to this instant; negative when `earlier` is later.
    public func seconds(since earlier: MonotonicInstant) -> Double {
        (sinceOrigin - earlier.sinceOrigin).seconds
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.sinceOrigin < rhs.sinceOrigin
    }
}

/// Where limits read the time. Rate limits need a clock that never goes back (a wall clock set
/// back by NTP would refill every bucket, or stall them); tests drive one by hand.
public protocol MonotonicClock: Sendable {
    /// The current instant.
    func now() -> MonotonicInstant
}

/// The system's monotonic clock (`ContinuousClock`: it keeps counting while the machine sleeps,
/// so a bucket refills for the time that passed).
public struct SystemMonotonicClock: MonotonicClock {
    private let origin: ContinuousClock.Instant

    /// A clock whose origin is now.
    public init() {
        origin = ContinuousClock.now
    }

    /// The time since this clock was made.
    public func now() -> MonotonicInstant {
        MonotonicInstant(sinceOrigin: origin.duration(to: ContinuousClock.now))
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// `seconds` rounded up to whole seconds, kept within 0...`WholeSeconds.maximum` (a
    /// rate of one request a century must not overflow an `Int` or a header).
    var wholeSecondsRoundedUp: Int { WholeSeconds.roundedUp(seconds) }
}

/// Seconds as the limits report them: whole, rounded up, never negative, never absurd.
enum WholeSeconds {
    /// The most seconds any limit reports: about 31 years.
    static let maximum = 1_000_000_000

    /// `seconds` rounded up and clamped to 0...`maximum`; NaN counts as 0.
    static func roundedUp(_ seconds: Double) -> Int {
        guard seconds > 0 else { return 0 }
        guard seconds < Double(maximum) else { return maximum }
        return Int(seconds.rounded(.up))
    }
}
