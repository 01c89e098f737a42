import QuarryStore
import Synchronization

/// Saves a collection's derived index a moment after documents are deleted over HTTP, once for a
/// run of deletes: the saved index file then matches the store (what `quarry verify` checks and
/// the next process loads) without waiting for the next search or ingest to catch it up.
/// A save that fails or never runs costs nothing but a catch-up at the next load.
final class IndexSaveScheduler: Sendable {
    private let pending = Mutex<Set<String>>([])
    private let delay: Duration

    init(delay: Duration = .seconds(1)) {
        self.delay = delay
    }

    /// Saves the index of `collection` in `store` after `delay`, unless a save is already due.
    func schedule(_ collection: String, in store: any ChunkWriter) {
        guard pending.withLock({ $0.insert(collection).inserted }) else { return }
        Task.detached(priority: .background) { [delay, self] in
            try? await Task.sleep(for: delay)
            self.pending.withLock { _ = $0.remove(collection) }
            try? await store.synchronizeIndex(of: collection)
        }
    }
}
