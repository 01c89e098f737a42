import Foundation
import Logging
import Synchronization

/// The in-memory BM25 indexes (`PostgresLexicalIndex`) of a PostgreSQL store's collections, one
/// per collection, each answering only for the generation it was built at.
///
/// A search never waits for a build: when the collection has no index of its current generation,
/// the search starts one in the background and is answered by SQL. One build per collection runs
/// at a time, and a collection's next build starts no sooner after the last one ended than that
/// one took, so a collection written without pause (an ingest) costs at most half a thread in
/// rebuilds. An index that would not fit the memory budget is not kept, and its build is not
/// tried again before a write moves the generation on.
final class PostgresLexicalIndexes: Sendable {
    /// What a build produced.
    enum Built: Sendable {
        case index(PostgresLexicalIndex)
        /// The postings of `generation` would take more than the bytes the budget left.
        case overBudget(generation: Int64)
        /// The collection no longer exists, or the store is closing.
        case nothing
    }

    private struct Build {
        var id: UInt64
        var task: Task<Void, Never>
    }

    private struct State {
        var entries: [Int64: PostgresLexicalIndex] = [:]
        /// Collections whose index did not fit, with their generation then.
        var refused: [Int64: Int64] = [:]
        var building: [Int64: Build] = [:]
        /// When each collection's next build may start.
        var notBefore: [Int64: ContinuousClock.Instant] = [:]
        var nextBuild: UInt64 = 0
    }

    /// Most bytes all indexes may take together (estimated from their layout).
    let budgetBytes: Int
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    private let logger = Logger(label: "quarry.lexical")

    init(budgetBytes: Int = 512 << 20) {
        self.budgetBytes = budgetBytes
    }

    /// Whether the store is closing: builds under way stop at their next page of postings.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// The collection's index if it is of `generation`. An index of an older generation is
    /// dropped: generations only grow, so it can never answer again.
    func index(collectionID: Int64, generation: Int64) -> PostgresLexicalIndex? {
        state.withLock { state in
            guard let entry = state.entries[collectionID] else { return nil }
            if entry.generation == generation { return entry }
            if entry.generation < generation { state.entries[collectionID] = nil }
            return nil
        }
    }

    /// Starts `build` in the background for the collection, unless a build of it is under way, its
    /// index of `generation` was refused for the budget, or its last build ended too recently.
    /// - Parameter build: reads the collection's postings (on the store's threads); its
    ///   argument is the bytes the other collections' indexes leave.
    func requestBuild(collectionID: Int64, generation: Int64, build: @escaping @Sendable (_ budgetLeft: Int) async throws -> Built) {
        state.withLock { state in
            // Under the lock: `shutdown` waits for every build started before it.
            guard !isStopping else { return }
            if state.entries[collectionID]?.generation ?? .min >= generation { return }
            guard state.building[collectionID] == nil, state.refused[collectionID] != generation else { return }
            if let notBefore = state.notBefore[collectionID], ContinuousClock.now < notBefore { return }
            let id = state.nextBuild
            state.nextBuild += 1
            let budgetLeft = budgetBytes - state.entries.filter { $0.key != collectionID }.values.reduce(0) { $0 + $1.estimatedBytes }
            let task = Task { [self] in
                let started = ContinuousClock.now
                let built: Built
                do {
                    built = try await build(budgetLeft)
                } catch {
                    if !isStopping { logger.warning("the in-memory BM25 index of collection \(collectionID) was not built: \(error)") }
                    built = .nothing
                }
                finish(collectionID: collectionID, build: id, built: built, took: ContinuousClock.now - started)
            }
            state.building[collectionID] = Build(id: id, task: task)
        }
    }

    private func finish(collectionID: Int64, build: UInt64, built: Built, took: Duration) {
        state.withLock { state in
            guard state.building[collectionID]?.id == build else { return }
            state.building[collectionID] = nil
            state.notBefore[collectionID] = ContinuousClock.now + took
            switch built {
            case .index(let index):
                // An older index never replaces a newer one.
                if let held = state.entries[collectionID], held.generation > index.generation { return }
                // Other collections' indexes may have been built meanwhile.
                let others = state.entries.filter { $0.key != collectionID }.values.reduce(0) { $0 + $1.estimatedBytes }
                guard others + index.estimatedBytes <= budgetBytes else {
                    refuse(collectionID, generation: index.generation, in: &state)
                    return
                }
                state.entries[collectionID] = index
                state.refused[collectionID] = nil
                logger.info(
                    "in-memory BM25 index of collection \(collectionID) at generation \(index.generation): \(index.postingCount) postings, \(index.estimatedBytes >> 20) MiB, built in \(took)"
                )
            case .overBudget(let generation):
                refuse(collectionID, generation: generation, in: &state)
            case .nothing:
                break
            }
        }
    }

    private func refuse(_ collectionID: Int64, generation: Int64, in state: inout State) {
        state.entries[collectionID] = nil
        state.refused[collectionID] = generation
        logger.notice(
            "the in-memory BM25 index of collection \(collectionID) would not fit the \(budgetBytes >> 20) MiB budget; SQL answers its lexical queries"
        )
    }

    /// Drops what is held for collections not in `existing` (removed since).
    func retain(_ existing: Set<Int64>) {
        state.withLock { state in
            state.entries = state.entries.filter { existing.contains($0.key) }
            state.refused = state.refused.filter { existing.contains($0.key) }
            state.notBefore = state.notBefore.filter { existing.contains($0.key) }
        }
    }

    /// Waits for the collection's build under way, if any (tests).
    func awaitBuild(collectionID: Int64) async {
        let task = state.withLock { $0.building[collectionID]?.task }
        await task?.value
    }

    /// The estimated bytes of every index held.
    var estimatedBytes: Int {
        state.withLock { $0.entries.values.reduce(0) { $0 + $1.estimatedBytes } }
    }

    /// Stops builds under way and waits for them; no build starts afterwards.
    func shutdown() async {
        let tasks = state.withLock { state in
            stopping.store(true, ordering: .relaxed)
            return state.building.values.map(\.task)
        }
        for task in tasks { await task.value }
        state.withLock { $0.entries = [:] }
    }
}
