import Foundation
import QuarryStore
import Synchronization

/// Remembers when each key was last used and writes it to the store together, every few seconds,
/// rather than one write per request: `KeyRing` notes every request it authenticates, and the
/// server flushes it on a timer and at shutdown.
///
/// What the store shows is the latest use to within the interval. A write that fails keeps its
/// dates for the next one; a process killed without a shutdown loses at most one interval.
public final class KeyUseRecorder: Sendable {
    private let store: any KeyStore
    private let pending = Mutex<[String: Date]>([:])
    private let onWriteFailure: (@Sendable (any Error) -> Void)?

    /// Records in `store`.
    /// - Parameter onWriteFailure: told of each failed write (the dates are kept and tried again).
    public init(store: any KeyStore, onWriteFailure: (@Sendable (any Error) -> Void)? = nil) {
        self.store = store
        self.onWriteFailure = onWriteFailure
    }

    /// Notes that key `id` was used at `date`.
    public func note(_ id: String, at date: Date) {
        pending.withLock { pending in
            if pending[id].map({ $0 < date }) ?? true { pending[id] = date }
        }
    }

    /// Keys noted and not yet written.
    public var heldBack: Int { pending.withLock { $0.count } }

    /// Writes the dates noted so far.
    /// - Throws: the store's error (the dates are kept for the next flush).
    public func flush() async throws {
        let uses = pending.withLock { pending -> [String: Date] in
            defer { pending.removeAll() }
            return pending
        }
        guard !uses.isEmpty else { return }
        do {
            try await store.recordKeyUses(uses)
        } catch {
            onWriteFailure?(error)
            pending.withLock { pending in
                pending.merge(uses) { newer, older in max(newer, older) }
            }
            throw error
        }
    }
}
