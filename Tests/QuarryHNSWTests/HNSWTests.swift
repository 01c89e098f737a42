import Foundation
import QuarryKernels
import Synchronization
import Testing

@testable import QuarryHNSW

/// A seeded clustered data set: `clusters` Gaussian blobs, as embeddings of real text form.
struct ClusteredData {
    let dimension: Int
    let vectors: [Float]
    let queries: [Float]
    var count: Int { vectors.count / dimension }
    var queryCount: Int { queries.count / dimension }

    init(count: Int, queries queryCount: Int, dimension: Int, clusters: Int = 40, seed: UInt64 = 1) {
        var g = SplitMix(state: seed)
        self.dimension = dimension
        let centres = (0..<clusters * dimension).map { _ in g.normal() }
        func point() -> [Float] {
            let c = Int(g.next() % UInt64(clusters))
            return (0..<dimension).map { centres[c * dimension + $0] + 0.45 * g.normal() }
        }
        vectors = (0..<count).flatMap { _ in point() }
        queries = (0..<queryCount).flatMap { _ in point() }
    }

    func vector(_ i: Int) -> [Float] { Array(vectors[i * dimension..<(i + 1) * dimension]) }
    func query(_ i: Int) -> [Float] { Array(queries[i * dimension..<(i + 1) * dimension]) }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func normal() -> Float {
        let u1 = Double(next() >> 11) / Double(1 << 53) + 1e-12, u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

func buildIndex(_ data: ClusteredData, metric: HNSWMetric, m: Int = 12, efConstruction: Int = 100, labels: [UInt64]? = nil) throws -> HNSWIndex {
    let index = try HNSWIndex(dimension: data.dimension, metric: metric, parameters: HNSWParameters(m: m, efConstruction: efConstruction, ef: 64))
    try index.insert(batch: data.vectors, labels: labels ?? (0..<data.count).map(UInt64.init), threads: 2)
    return index
}

/// Mean recall@k of `index` against its own exact search.
func recall(_ index: HNSWIndex, _ data: ClusteredData, k: Int = 10, ef: Int = 64, filter: (@Sendable (UInt64) -> Bool)? = nil, expectedMatches: Int? = nil) throws -> Double {
    var total = 0.0
    for q in 0..<data.queryCount {
        let truth = Set(try index.exactSearch(data.query(q), k: k, filter: filter).map(\.label))
        let found = try index.search(data.query(q), k: k, ef: ef, filter: filter, expectedMatches: expectedMatches).map(\.label)
        guard !truth.isEmpty else { continue }
        total += Double(found.filter(truth.contains).count) / Double(truth.count)
    }
    return total / Double(data.queryCount)
}

@Suite struct HNSWSearchTests {
    static let data = ClusteredData(count: 4000, queries: 50, dimension: 32)

    @Test(arguments: HNSWMetric.allCases)
    func recallAgainstExactSearch(metric: HNSWMetric) throws {
        let index = try buildIndex(Self.data, metric: metric)
        #expect(index.count == 4000)
        let r = try recall(index, Self.data)
        #expect(r >= 0.95, "recall@10 \(r)")
    }

    @Test func exactSearchMatchesBruteForceTwin() throws {
        let index = try buildIndex(ClusteredData(count: 300, queries: 5, dimension: 16), metric: .l2)
        let data = ClusteredData(count: 300, queries: 5, dimension: 16)
        for q in 0..<data.queryCount {
            let query = data.query(q)
            let twin = (0..<data.count).map { i -> (UInt64, Float) in
                (UInt64(i), zip(data.vector(i), query).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
            }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(10)
            let exact = try index.exactSearch(query, k: 10)
            #expect(exact.map(\.label) == twin.map(\.0))
            for (a, b) in zip(exact, twin) { #expect(abs(a.distance - b.1) < 1e-3) }
        }
    }

    @Test func filteredSearchKeepsRecallAtLowSelectivity() throws {
        let index = try buildIndex(Self.data, metric: .cosine)
        for (percent, modulus) in [(1, UInt64(100)), (10, UInt64(10))] {
            let filter: @Sendable (UInt64) -> Bool = { $0 % modulus == 3 }
            // As callers use it: the index estimates selectivity and picks graph or exact search.
            let automatic = try recall(index, Self.data, filter: filter)
            #expect(automatic >= 0.95, "\(percent) % automatic recall \(automatic)")
            // Forcing the graph walk: traversal through rejected nodes must still find matches.
            let traversal = try recall(index, Self.data, ef: 200, filter: filter, expectedMatches: .max)
            #expect(traversal >= (percent == 1 ? 0.80 : 0.95), "\(percent) % graph recall \(traversal)")
            for q in 0..<5 {
                let results = try index.search(Self.data.query(q), k: 10, filter: filter)
                #expect(results.count == 10)
                #expect(results.allSatisfy { filter($0.label) })
            }
        }
    }

    @Test func wrongDimensionsAndBadValuesAreErrors() throws {
        let index = try HNSWIndex(dimension: 4, metric: .l2)
        #expect(throws: HNSWError.self) { try index.insert([1, 2, 3], label: 1) }
        #expect(throws: HNSWError.self) { try index.insert([1, 2, 3, .nan], label: 1) }
        try index.insert([1, 2, 3, 4], label: 1)
        #expect(throws: HNSWError.self) { try index.insert([1, 2, 3, 4], label: 1) }
        #expect(throws: HNSWError.self) { try index.search([1, 2], k: 1) }
        #expect(throws: HNSWError.self) { try HNSWIndex(dimension: 0, metric: .l2) }
        #expect(try index.search([1, 2, 3, 4], k: 0).isEmpty)
        #expect(try HNSWIndex(dimension: 4, metric: .l2).search([1, 2, 3, 4], k: 3).isEmpty)
    }

    @Test func buildsAreReproducible() throws {
        let data = ClusteredData(count: 1000, queries: 10, dimension: 16)
        func build() throws -> HNSWIndex {
            let index = try HNSWIndex(dimension: 16, metric: .l2, parameters: HNSWParameters(m: 8, efConstruction: 50))
            for i in 0..<data.count { try index.insert(data.vector(i), label: UInt64(i)) }
            return index
        }
        let a = try build(), b = try build()
        for q in 0..<data.queryCount {
            #expect(try a.search(data.query(q), k: 10) == b.search(data.query(q), k: 10))
        }
        // Level draws follow ⌊−ln U / ln M⌋: about 1/M of the nodes reach level 1.
        let upper = (0..<10_000).filter { a.drawLevel(UInt64($0)) > 0 }.count
        #expect(abs(Double(upper) / 10_000 - 1.0 / 8) < 0.02)
    }

    @Test func searchesRunWhileInsertsRun() async throws {
        let data = ClusteredData(count: 3000, queries: 20, dimension: 24)
        let index = try HNSWIndex(dimension: 24, metric: .cosine, parameters: HNSWParameters(m: 12, efConstruction: 80))
        try index.insert(batch: Array(data.vectors.prefix(500 * 24)), labels: (0..<500).map(UInt64.init))
        let errors = Counter()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try index.insert(batch: Array(data.vectors[(500 * 24)...]), labels: (500..<3000).map(UInt64.init), threads: 2)
                } catch {
                    errors.increment()
                }
            }
            group.addTask {
                for round in 0..<200 {
                    let results = (try? index.search(data.query(round % data.queryCount), k: 10)) ?? []
                    // A search that met a half-linked node would stop there with fewer than k.
                    if results.count != 10 || Set(results.map(\.label)).count != results.count { errors.increment() }
                }
            }
        }
        #expect(errors.value == 0)
        #expect(index.count == 3000)
        #expect(try recall(index, data) >= 0.95)
    }
}

@Suite struct HNSWAllocationTests {
    /// Memory the system cannot give is an error the caller sees, not a crash.
    @Test func anAllocationThatFailsIsThrown() throws {
        #if os(Linux)
        do {
            let pointer = try HugePages.allocate(byteCount: 1 << 62)
            HugePages.deallocate(pointer)
            Issue.record("allocated 4 EiB")
        } catch let error as HNSWError {
            #expect(error.code == .outOfMemory)
        }
        #endif
    }
}

@Suite struct HNSWDeleteTests {
    @Test func recallAfterDeletingThirtyPercentMatchesAFreshBuild() throws {
        let data = ClusteredData(count: 4000, queries: 50, dimension: 32, seed: 9)
        let index = try buildIndex(data, metric: .cosine)
        let removed = Set((0..<4000).filter { $0 % 10 < 3 }.map(UInt64.init))
        for label in removed { #expect(index.remove(label)) }
        #expect(index.count == 2800)
        #expect(!index.remove(UInt64(0)))
        for q in 0..<data.queryCount {
            let results = try index.search(data.query(q), k: 10)
            #expect(results.allSatisfy { !removed.contains($0.label) })
        }
        let afterDeletes = try recall(index, data)

        let survivors = (0..<4000).filter { !removed.contains(UInt64($0)) }
        let fresh = try HNSWIndex(dimension: 32, metric: .cosine, parameters: index.parameters)
        try fresh.insert(batch: survivors.flatMap(data.vector), labels: survivors.map(UInt64.init))
        let freshRecall = try recall(fresh, data)
        #expect(afterDeletes >= freshRecall - 0.01, "after deletes \(afterDeletes), fresh \(freshRecall)")
    }

    @Test func slotsAreReusedAndCompactionDropsTombstones() throws {
        let data = ClusteredData(count: 2000, queries: 30, dimension: 16, seed: 10)
        let index = try buildIndex(data, metric: .l2)
        let removed = Set((0..<2000).filter { $0 % 10 < 3 }.map(UInt64.init))
        for label in removed { index.remove(label) }
        let survivors = Set((0..<2000).map(UInt64.init)).subtracting(removed)

        // Slots are reused: inserting as many as were removed allocates nothing new.
        let before = index.state.withLock { $0.count }
        for (i, label) in removed.sorted().enumerated() { try index.insert(data.vector(i), label: 100_000 + label) }
        #expect(index.state.withLock { $0.count } == before)
        #expect(index.count == 2000)
        #expect(index.contains(100_000 + 2) && !index.contains(2))

        // Compaction drops tombstones and keeps every live label.
        for label in removed { index.remove(100_000 + label) }
        #expect(index.tombstoneRatio > 0.25)
        let compact = try index.compacted()
        #expect(compact.tombstoneRatio == 0)
        #expect(compact.state.withLock { $0.count } == survivors.count)
        #expect(Set(compact.labels) == survivors)
        #expect(try recall(compact, data) >= 0.95)
    }

    @Test func removingTheEntryPointKeepsTheIndexSearchable() throws {
        let data = ClusteredData(count: 500, queries: 5, dimension: 8)
        let index = try buildIndex(data, metric: .l2, m: 6, efConstruction: 40)
        for _ in 0..<20 {
            let entry = index.state.withLock { $0.entryPoint }
            index.remove(index.labelOf(entry))
        }
        #expect(index.count == 480)
        #expect(try index.search(data.query(0), k: 5).count == 5)
        for label in index.labels { index.remove(label) }
        #expect(try index.search(data.query(0), k: 5).isEmpty)
        try index.insert(data.vector(0), label: 7)
        #expect(try index.search(data.query(0), k: 5).map(\.label) == [7])
    }
}

@Suite struct HNSWPersistenceTests {
    func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("quarry-hnsw-\(UUID().uuidString).idx")
    }

    @Test func roundTripGivesTheSameResults() throws {
        let data = ClusteredData(count: 2000, queries: 20, dimension: 16, seed: 4)
        let index = try buildIndex(data, metric: .cosine)
        for label in stride(from: UInt64(0), to: 2000, by: 7) { index.remove(label) }
        index.lastStoreRowID = 123_456
        let url = temporaryFile()
        defer { try? FileManager.default.removeItem(at: url) }
        try index.write(to: url)
        let loaded = try HNSWIndex.load(from: url)
        #expect(loaded.count == index.count)
        #expect(loaded.lastStoreRowID == 123_456)
        #expect(loaded.parameters == index.parameters)
        for q in 0..<data.queryCount {
            #expect(try loaded.search(data.query(q), k: 10) == index.search(data.query(q), k: 10))
        }
        // The loaded index keeps working: inserts reuse the free slots, removes still repair.
        try loaded.insert(data.vector(0), label: 99_999)
        #expect(try loaded.search(data.vector(0), k: 1).first?.label == 99_999)
    }

    @Test func refusesForeignFutureTruncatedAndCorruptFiles() throws {
        let data = ClusteredData(count: 200, queries: 1, dimension: 8, seed: 5)
        let index = try buildIndex(data, metric: .l2, m: 4, efConstruction: 20)
        index.remove(3)
        let url = temporaryFile()
        defer { try? FileManager.default.removeItem(at: url) }
        try index.write(to: url)
        let image = try Data(contentsOf: url)

        func expectRefused(_ bytes: Data, _ code: HNSWError.Code? = nil, _ note: String) {
            do {
                _ = try HNSWIndex.load(bytes, name: "test.idx")
                Issue.record("accepted: \(note)")
            } catch let error as HNSWError {
                if let code { #expect(error.code == code, "\(note): \(error)") }
            } catch {
                Issue.record("unexpected error type for \(note): \(error)")
            }
        }
        expectRefused(Data("not an index at all, just text".utf8), .incompatibleFile, "foreign")
        expectRefused(Data(), .incompatibleFile, "empty")
        var future = image
        future[8] = 2
        expectRefused(future, .incompatibleFile, "future version")

        var g = SplitMix(state: 77)
        for round in 0..<300 {
            var damaged = image
            if round % 2 == 0 {
                damaged = damaged.prefix(Int(g.next() % UInt64(image.count)))
            } else {
                let flips = 1 + Int(g.next() % 4)
                for _ in 0..<flips {
                    let position = Int(g.next() % UInt64(image.count))
                    damaged[position] ^= UInt8(1 << (g.next() % 8))
                }
            }
            expectRefused(damaged, nil, "round \(round)")
        }
        #expect(throws: HNSWError.self) { try HNSWIndex.load(from: URL(fileURLWithPath: "/nonexistent/index.idx")) }
    }

    @Test func crc32MatchesKnownValues() {
        #expect(CRC32.checksum(Data("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Data()) == 0)
        let long = Data((0..<1000).map { UInt8($0 % 251) })
        var slow: UInt32 = 0xFFFF_FFFF
        for byte in long {
            slow ^= UInt32(byte)
            for _ in 0..<8 { slow = slow & 1 != 0 ? 0xEDB8_8320 ^ (slow >> 1) : slow >> 1 }
        }
        #expect(CRC32.checksum(long) == ~slow)
    }
}

@Suite struct HNSWFilteredSearchTests {
    /// 12,000 clustered 64-d vectors searched at ef 40: 1 % selectivity keeps 120 of them, below
    /// the exact-search threshold (800 at ef 40), 10 % keeps 1,200, above it, so both the exact
    /// scan and the filtered graph walk are measured, as callers meet them.
    static let data = ClusteredData(count: 12_000, queries: 40, dimension: 64, clusters: 50, seed: 21)
    static let index = Result { try buildIndex(data, metric: .cosine, m: 8, efConstruction: 48) }
    static let ef = 40

    @Test(arguments: [(1, UInt64(100)), (10, UInt64(10))])
    func filteredRecallAgainstExactFilteredSearch(percent: Int, modulus: UInt64) throws {
        let index = try Self.index.get()
        let filter: @Sendable (UInt64) -> Bool = { $0 % modulus == 7 }
        let live = index.count
        let matches = live / Int(modulus)
        #expect((matches <= index.exactSearchThreshold(live: live, ef: Self.ef)) == (percent == 1))
        // Selectivity estimated by the index from a sample, and given by the caller.
        let automatic = try recall(index, Self.data, ef: Self.ef, filter: filter)
        #expect(automatic >= 0.95, "\(percent) % recall@10 \(automatic)")
        let given = try recall(index, Self.data, ef: Self.ef, filter: filter, expectedMatches: matches)
        #expect(given >= 0.95, "\(percent) % recall@10 with the count given \(given)")
        for q in 0..<5 {
            let results = try index.search(Self.data.query(q), k: 10, ef: Self.ef, filter: filter)
            #expect(results.count == 10)
            #expect(results.allSatisfy { filter($0.label) })
        }
    }
}
