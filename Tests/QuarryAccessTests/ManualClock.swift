import QuarryAccess
import Synchronization

/// A clock the test moves by hand.
final class ManualClock: MonotonicClock {
    private let current = Mutex(MonotonicInstant.origin)

    func now() -> MonotonicInstant { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }
}
