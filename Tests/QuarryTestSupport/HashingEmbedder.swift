import Foundation
import QuarryEmbedding
import QuarryKernels
import Synchronization

/// A deterministic stand-in embedder for tests of the layers above the model: a bag of
/// lower-cased words hashed into `dimension` buckets, L2-normalised. Texts that share words are
/// close; the same text always gives the same vector. Counts calls so tests can check what was
/// (re-)embedded.
public final class HashingEmbedder: Embedder {
    public let model: EmbeddingModelInfo
    public let maxInputTokens = 256
    private let embedded = Mutex<[String]>([])

    public init(dimension: Int = 64, name: String = "hashing-test", fingerprint: String = "test") {
        self.model = EmbeddingModelInfo(name: name, dimension: dimension, fingerprint: fingerprint)
    }

    /// Every text embedded so far, in order.
    public var embeddedTexts: [String] {
        embedded.withLock { $0 }
    }

    public func tokenCount(_ text: String) -> Int {
        Self.words(text).count
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        embedded.withLock { $0.append(contentsOf: texts) }
        return texts.map(vector)
    }

    public func vector(_ text: String) -> [Float] {
        var v = [Float](repeating: 0, count: model.dimension)
        for word in Self.words(text) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            v[Int(hash % UInt64(model.dimension))] += 1
        }
        if v.allSatisfy({ $0 == 0 }) { v[0] = 1 }
        Distance.normalize(&v)
        return v
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }
}

/// A fresh temporary directory, removed by `cleanUp()`.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `text` to `relativePath` below the directory, creating folders.
    @discardableResult
    public func write(_ text: String, to relativePath: String) throws -> URL {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file
    }

    public func cleanUp() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// The package root, found from this file's location.
public func packageRoot(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// The MiniLM model folder: `$QUARRY_MODEL`, else `models/all-MiniLM-L6-v2` in the package.
public func modelDirectory() -> URL {
    if let path = ProcessInfo.processInfo.environment["QUARRY_MODEL"], !path.isEmpty {
        return URL(fileURLWithPath: path, isDirectory: true)
    }
    return packageRoot().appendingPathComponent("models/all-MiniLM-L6-v2", isDirectory: true)
}

/// SplitMix64: a small seeded generator, so randomized tests are the same every run and a
/// failure replays.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
