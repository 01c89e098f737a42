import Synchronization

/// Daily usage whose small, frequent additions are gathered in memory and written to `base`
/// together: the word pieces of every question embedded, of every `/v1/embeddings` call and of
/// every ingest batch would otherwise cost a store write each, on the path of the request.
///
/// `add` writes at once, as `base` does (an LLM call's tokens and dollars are worth a write);
/// `addSoon` keeps the amount in memory until the next `flush`. `used` counts both, so budgets
/// read in this process see every addition the moment it is made; another node of a PostgreSQL
/// deployment sees them after the flush.
///
/// The server flushes it every second and at shutdown; `flush()` writes everything held back and
/// returns once it, and every flush started before it, has been written (`GET /usage` calls it
/// before reading the store). An addition a write fails on is held back again and tried with the
/// next flush. What is held back when the process dies without a shutdown is lost: at most the
/// additions of one interval.
public final class DeferredDailyUsageCounter: DailyUsageCounter {
    private struct State {
        /// Added and not yet taken by a flush.
        var pending: [DailyUsageKey: DailyUsageAmount] = [:]
        /// Taken by a flush and waiting for their write; counted by `used`.
        var writing: [Int: [DailyUsageKey: DailyUsageAmount]] = [:]
        var nextFlush = 0
        /// The last flush started: the next one writes after it.
        var tail: Task<Void, Never>?
    }

    private let base: any DailyUsageCounter
    private let state = Mutex(State())
    private let onWriteFailure: (@Sendable (any Error) -> Void)?

    /// Holds back `addSoon`'s additions to `base`.
    /// - Parameter onWriteFailure: told of each failed write (the amount is kept and tried again).
    public init(base: any DailyUsageCounter, onWriteFailure: (@Sendable (any Error) -> Void)? = nil) {
        self.base = base
        self.onWriteFailure = onWriteFailure
    }

    public func used(tenant: String, keyID: String?, from: UsageDay, through: UsageDay) async throws -> DailyUsageAmount {
        let stored = try await base.used(tenant: tenant, keyID: keyID, from: from, through: through)
        let held = state.withLock { state in
            ([state.pending] + Array(state.writing.values)).reduce(DailyUsageAmount.zero) { sum, amounts in
                sum + DailyUsageKey.sum(of: amounts, tenant: tenant, keyID: keyID, from: from, through: through)
            }
        }
        return stored + held
    }

    public func add(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws {
        try await base.add(amount, tenant: tenant, keyID: keyID, model: model, day: day)
    }

    public func addSoon(_ amount: DailyUsageAmount, tenant: String, keyID: String, model: String, day: UsageDay) async throws {
        guard amount != .zero else { return }
        state.withLock { state in
            let key = DailyUsageKey(tenant: tenant, keyID: keyID, model: model, day: day)
            state.pending[key] = (state.pending[key] ?? .zero) + amount
        }
    }

    /// How many counters (tenant, key, model and day) hold additions not yet written.
    public var heldBack: Int {
        state.withLock { state in state.pending.count + state.writing.values.reduce(0) { $0 + $1.count } }
    }

    /// Writes what is held back; returns when it and every flush started before it are written.
    /// - Throws: the first error of this flush's writes (what failed is held back again).
    public func flush() async throws {
        let write = state.withLock { state -> Task<(any Error)?, Never> in
            let previous = state.tail
            let id = state.nextFlush
            state.nextFlush += 1
            if !state.pending.isEmpty {
                state.writing[id] = state.pending
                state.pending = [:]
            }
            let write = Task { [self] in
                await previous?.value
                return await self.write(id)
            }
            state.tail = Task { _ = await write.value }
            return write
        }
        if let error = await write.value { throw error }
    }

    /// Writes the flush `id`'s amounts one by one. Each leaves `writing` as its write starts (a
    /// budget read during that write counts it short, never twice); on the first failure it and
    /// the rest go back to `pending`.
    private func write(_ id: Int) async -> (any Error)? {
        while let (key, amount) = state.withLock({ state -> (DailyUsageKey, DailyUsageAmount)? in
            guard let entry = state.writing[id]?.first else { return nil }
            state.writing[id]?.removeValue(forKey: entry.key)
            return (entry.key, entry.value)
        }) {
            do {
                try await base.add(amount, tenant: key.tenant, keyID: key.keyID, model: key.model, day: key.day)
            } catch {
                onWriteFailure?(error)
                state.withLock { state in
                    var back = state.writing.removeValue(forKey: id) ?? [:]
                    back[key] = (back[key] ?? .zero) + amount
                    for (key, amount) in back { state.pending[key] = (state.pending[key] ?? .zero) + amount }
                }
                return error
            }
        }
        state.withLock { state in _ = state.writing.removeValue(forKey: id) }
        return nil
    }
}
