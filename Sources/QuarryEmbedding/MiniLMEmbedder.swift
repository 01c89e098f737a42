import CBLAS
import Foundation
import QuarryDigest
import QuarryErrors
import Synchronization

/// all-MiniLM-L6-v2 (or any BERT sentence encoder laid out the same way) run in-process:
/// WordPiece tokens, the BERT encoder on BLAS, mean pooling over the real tokens, L2
/// normalisation. Inputs are truncated to 256 word pieces, as sentence-transformers does.
public final class MiniLMEmbedder: Embedder {
    /// The tokenizer, for callers that count or inspect word pieces.
    public let tokenizer: WordPieceTokenizer
    /// The encoder.
    public let encoder: BertEncoder
    /// Texts are truncated to this many word pieces, `[CLS]` and `[SEP]` included.
    public let maxInputTokens: Int
    /// Largest number of word pieces run through the encoder in one pass.
    public let tokensPerPass: Int

    private let name: String
    private let weightsURL: URL
    private let fingerprint: String
    /// Scratch memory of the last finished batch, lent to the next one (a concurrent batch
    /// that finds it lent out allocates its own).
    private let spareWorkspace = Mutex<BertEncoder.Workspace?>(BertEncoder.Workspace())
    /// One batch at a time: BLAS already uses every core for one batch, and running two at once
    /// would only make them fight for the cores.
    private let queue = DispatchQueue(label: "quarry.embedding", qos: .userInitiated)
    /// Most word pieces in one slice of bulk work.
    public let bulkTokensPerSlice: Int
    /// Longest bulk work waits, between two layers, for foreground requests to finish: about a
    /// query's time on a quiet machine, so a query usually finishes before bulk work goes on,
    /// while a client that queries without a pause still leaves bulk work a layer in four or so.
    let foregroundPause: Duration = .milliseconds(50)
    /// Workers bulk work uses while foreground requests run.
    let foregroundWorkers = 1
    /// About two passages, some 80 ms of the encoder on two cores, and a sixth of that between
    /// two chances for a query to run.
    public static let defaultBulkTokensPerSlice = 512

    private struct InteractiveCall {
        var sequences: [[Int32]]
        var continuation: CheckedContinuation<[[Float]], any Error>
    }

    /// Interactive calls not yet run, taken by the next queue item or bulk layer boundary.
    private let waitingInteractive = Mutex<[InteractiveCall]>([])
    /// Scratch memory of interactive work, apart from the bulk pass it may interrupt.
    private let interactiveWorkspace = Mutex<BertEncoder.Workspace?>(BertEncoder.Workspace())
    private let interactiveRuns = Atomic<Int>(0)
    private let foregroundTurns = Atomic<Int>(0)

    /// Loads the model in `modelDirectory` (`model.safetensors`, `vocab.txt`, `config.json`).
    /// - Parameters:
    ///   - modelDirectory: the model folder.
    ///   - threads: cores the encoder uses.
    ///   - maxInputTokens: truncation length, at most the model's positions.
    /// - Throws: `QuarryError.modelMissing` when the folder or a file is missing (the message
    ///   says how to fetch it), `.modelCorrupt` when a file does not parse or a tensor is misshapen.
    ///   - name: the model's name as collections record it and `/v1/embeddings` reports it;
    ///     `nil` for the name the weights are known by, else the one `config.json` gives.
    public convenience init(modelDirectory: URL, threads: Int = 2, maxInputTokens: Int = 256, name: String? = nil) throws {
        try self.init(
            modelDirectory: modelDirectory, threads: threads, maxInputTokens: maxInputTokens,
            tokensPerPass: Self.defaultTokensPerPass, name: name
        )
    }

    /// The encoder again, loaded from the same weights in `precision` (to compare precisions
    /// and paths in one process).
    public func encoder(in precision: EncoderPrecision) throws -> BertEncoder {
        var encoder = try BertEncoder(weights: try SafeTensorsFile(url: weightsURL), configuration: self.encoder.configuration, precision: precision)
        encoder.threads = self.encoder.threads
        return encoder
    }

    /// Names of the model weights Quarry knows, by the SHA-256 of `model.safetensors`.
    static let knownWeights: [String: String] = [
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db": "all-MiniLM-L6-v2"
    ]

    /// Word pieces per encoder pass unless told otherwise: about eight SciFact passages. Larger
    /// passes were no faster here (the dense layers already run at full speed on 1,024 rows per
    /// core) and would keep a larger workspace (about 15 KB per piece) alive between batches.
    public static let defaultTokensPerPass = 2048

    /// Loads the model in `modelDirectory`, choosing how many word pieces go through the encoder
    /// at once.
    /// - Parameters:
    ///   - modelDirectory: the model folder.
    ///   - threads: cores the encoder uses.
    ///   - maxInputTokens: truncation length, at most the model's positions.
    ///   - tokensPerPass: most word pieces run through the encoder at once (a single text longer
    ///     than this still runs, alone); bounds the scratch memory, about 15 KB per piece.
    /// - Throws: `QuarryError.modelMissing` when the folder or a file is missing (the message
    ///   says how to fetch it), `.modelCorrupt` when a file does not parse or a tensor is misshapen.
    ///   - name: the model's name; `nil` for the name the weights are known by, else the one
    ///     `config.json` gives (`_name_or_path`), else `bert-<hidden size>d`. Never the folder's
    ///     name: the same weights keep their name wherever they are kept.
    ///   - bulkTokensPerSlice: most word pieces in one slice of bulk work (see `embed(_:priority:)`).
    public init(
        modelDirectory: URL, threads: Int, maxInputTokens: Int, tokensPerPass: Int,
        bulkTokensPerSlice: Int = MiniLMEmbedder.defaultBulkTokensPerSlice, name: String? = nil
    ) throws {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: modelDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw QuarryError(.modelMissing,
                "no model folder at \(modelDirectory.path); run `make model` (scripts/fetch-model.sh) to fetch all-MiniLM-L6-v2"
            )
        }
        for file in ["model.safetensors", "vocab.txt", "config.json"]
        where !fileManager.fileExists(atPath: modelDirectory.appendingPathComponent(file).path) {
            throw QuarryError(.modelMissing,
                "the model folder \(modelDirectory.path) has no \(file); run `make model` (scripts/fetch-model.sh) to fetch it"
            )
        }
        let configuration: BertConfiguration
        do {
            let data = try Data(contentsOf: modelDirectory.appendingPathComponent("config.json"))
            configuration = try JSONDecoder().decode(BertConfiguration.self, from: data)
        } catch {
            throw QuarryError(.modelCorrupt, "cannot parse \(modelDirectory.path)/config.json", underlying: error)
        }
        weightsURL = modelDirectory.appendingPathComponent("model.safetensors")
        tokenizer = try WordPieceTokenizer(vocabularyURL: modelDirectory.appendingPathComponent("vocab.txt"))
        guard tokenizer.vocabularySize <= configuration.vocabularySize else {
            throw QuarryError(.modelCorrupt,
                "vocab.txt has \(tokenizer.vocabularySize) pieces but config.json says "
                    + "\(configuration.vocabularySize); run scripts/fetch-model.sh again"
            )
        }
        var encoder = try BertEncoder(weights: try SafeTensorsFile(url: weightsURL), configuration: configuration)
        encoder.threads = max(1, threads)
        self.encoder = encoder
        self.maxInputTokens = max(2, min(maxInputTokens, configuration.maxPositions))
        self.tokensPerPass = max(1, tokensPerPass)
        self.bulkTokensPerSlice = max(1, bulkTokensPerSlice)
        // The fingerprint is what keeps two models out of one collection: it is computed now,
        // and a weights file that cannot be hashed is an error, never a made-up stand-in.
        let fingerprint = try Self.cachedSHA256(of: weightsURL)
        self.fingerprint = fingerprint
        self.name = name ?? Self.knownWeights[fingerprint] ?? configuration.nameOrPath ?? "bert-\(configuration.hiddenSize)d"
        // The encoder splits its work between `threads` workers itself; each BLAS call runs on
        // one thread (see BertEncoder.runLayer for why).
        openblas_set_num_threads(1)
    }

    /// Name, dimension and the SHA-256 of the weights (computed when the model is loaded, and
    /// cached beside the weights as `model.safetensors.sha256` keyed by size and modification time).
    public var model: EmbeddingModelInfo {
        EmbeddingModelInfo(name: name, dimension: encoder.configuration.hiddenSize, fingerprint: fingerprint)
    }

    public func tokenCount(_ text: String) -> Int {
        tokenizer.tokenCount(text)
    }

    /// Embeds `texts` as interactive work.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await embed(texts, priority: .interactive)
    }

    /// Embeds `texts` on the encoder's queue. Interactive calls wait at most one layer of one
    /// bulk slice: a bulk pass runs whatever interactive work is waiting before each of its
    /// layers. Bulk calls go in slices of `bulkTokensPerSlice` word pieces, one queue item each
    /// (so concurrent bulk callers take turns), and stop with `CancellationError` at the next
    /// slice once their task is cancelled.
    public func embed(_ texts: [String], priority: EmbeddingPriority) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let sequences = texts.map { tokenizer.encode($0, maxLength: maxInputTokens) }
        switch priority {
        case .interactive:
            return try await withCheckedThrowingContinuation { continuation in
                waitingInteractive.withLock { $0.append(InteractiveCall(sequences: sequences, continuation: continuation)) }
                queue.async { self.runWaitingInteractive() }
            }
        case .bulk:
            var results = [[Float]](repeating: [], count: sequences.count)
            for slice in Self.slices(of: sequences.map(\.count), tokens: bulkTokensPerSlice) {
                try Task.checkCancellation()
                let part = slice.map { sequences[$0] }
                let vectors: [[Float]] = try await withCheckedThrowingContinuation { continuation in
                    queue.async {
                        continuation.resume(with: Result {
                            try self.embed(tokenized: part) { self.bulkLayerTurn() }
                        })
                    }
                }
                for (slot, vector) in zip(slice, vectors) { results[slot] = vector }
            }
            return results
        }
    }

    /// Indices of sequences of `lengths` grouped in input order into slices of at most `tokens`
    /// word pieces (a longer sequence makes a slice of its own).
    static func slices(of lengths: [Int], tokens: Int) -> [[Int]] {
        var slices: [[Int]] = []
        var current: [Int] = []
        var count = 0
        for (index, length) in lengths.enumerated() {
            if !current.isEmpty, count + length > tokens {
                slices.append(current)
                current = []
                count = 0
            }
            current.append(index)
            count += length
        }
        if !current.isEmpty { slices.append(current) }
        return slices
    }

    /// Between two layers of bulk work: runs the interactive calls waiting, then makes room for
    /// foreground requests (`ForegroundWork`) still running — their search, ranking and
    /// answering run outside the encoder, on the same cores. While any runs, bulk work pauses
    /// for up to `foregroundPause`, then goes on with one worker, leaving the other cores to
    /// them. Returns the workers the next layer may use.
    private func bulkLayerTurn() -> Int {
        runWaitingInteractive()
        guard ForegroundWork.isActive else { return .max }
        foregroundTurns.add(1, ordering: .relaxed)
        let clock = ContinuousClock()
        let deadline = clock.now + foregroundPause
        while ForegroundWork.isActive, clock.now < deadline {
            usleep(200)
            runWaitingInteractive()
        }
        return ForegroundWork.isActive ? foregroundWorkers : .max
    }

    /// Runs every interactive call waiting now, together, with the interactive workspace.
    /// Only ever called on `queue`: from its own queue item or between the layers of a bulk pass.
    private func runWaitingInteractive() {
        let calls = waitingInteractive.withLock { waiting in
            defer { waiting = [] }
            return waiting
        }
        if calls.isEmpty { return }
        interactiveRuns.add(1, ordering: .relaxed)
        var workspace = interactiveWorkspace.withLock { spare in
            defer { spare = nil }
            return spare
        } ?? BertEncoder.Workspace()
        defer {
            let finished = workspace
            interactiveWorkspace.withLock { $0 = finished }
        }
        let result = Result { try embed(tokenized: calls.flatMap(\.sequences), workspace: &workspace, betweenLayers: { .max }) }
        var offset = 0
        for call in calls {
            let count = call.sequences.count
            call.continuation.resume(with: result.map { Array($0[offset..<offset + count]) })
            offset += count
        }
    }

    /// How many times interactive work ran, in its own queue item or inside a bulk pass.
    public var interactiveRunCount: Int { interactiveRuns.load(ordering: .relaxed) }

    /// How many layers of bulk work made room for foreground requests before they ran.
    public var foregroundTurnCount: Int { foregroundTurns.load(ordering: .relaxed) }

    /// Embeds texts on the calling thread. Texts are sorted by length and run in passes of up
    /// to `tokensPerPass` word pieces; results come back in input order.
    /// - Throws: `QuarryError.invalidRequest` only for inputs the encoder cannot take (none
    ///   produced by the tokenizer).
    public func embedBatch(_ texts: [String]) throws -> [[Float]] {
        let sequences = texts.map { tokenizer.encode($0, maxLength: maxInputTokens) }
        return try embed(tokenized: sequences)
    }

    /// Embeds already tokenised sequences (with their special tokens), in input order.
    /// - Parameter betweenLayers: called between the encoder's layers (see `BertEncoder.embed`).
    public func embed(tokenized sequences: [[Int32]], betweenLayers: () -> Int = { .max }) throws -> [[Float]] {
        var workspace = spareWorkspace.withLock { spare in
            defer { spare = nil }
            return spare
        } ?? BertEncoder.Workspace()
        defer {
            let finished = workspace
            spareWorkspace.withLock { $0 = finished }
        }
        return try embed(tokenized: sequences, workspace: &workspace, betweenLayers: betweenLayers)
    }

    /// Embeds tokenised sequences with `workspace`, longest first in passes of up to
    /// `tokensPerPass` word pieces; results in input order.
    private func embed(
        tokenized sequences: [[Int32]], workspace: inout BertEncoder.Workspace, betweenLayers: () -> Int
    ) throws -> [[Float]] {
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        var results = [[Float]](repeating: [], count: sequences.count)
        var index = 0
        while index < order.count {
            var pass: [Int] = []
            var tokens = 0
            while index < order.count, pass.isEmpty || tokens + sequences[order[index]].count <= tokensPerPass {
                pass.append(order[index])
                tokens += sequences[order[index]].count
                index += 1
            }
            let vectors = try encoder.embed(pass.map { sequences[$0] }, workspace: &workspace, betweenLayers: betweenLayers)
            for (slot, vector) in zip(pass, vectors) { results[slot] = vector }
        }
        return results
    }

    /// SHA-256 of a file, remembered in a sidecar `<file>.sha256` ("size mtime hash") so that it
    /// is computed once per file version.
    /// - Throws: `QuarryError.modelCorrupt` when the file cannot be read.
    static func cachedSHA256(of url: URL) throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        let mtime = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "\(size) \(mtime)"
        let sidecar = url.appendingPathExtension("sha256")
        if let cached = try? String(contentsOf: sidecar, encoding: .utf8) {
            let parts = cached.split(separator: " ")
            if parts.count == 3, "\(parts[0]) \(parts[1])" == key { return String(parts[2]).trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let hash: String
        do {
            hash = try SHA256.hex(ofFileAt: url)
        } catch {
            throw QuarryError(.modelCorrupt, "cannot read \(url.path) to fingerprint the model", underlying: error)
        }
        // The cache is an optimisation: a read-only model folder just means hashing again.
        try? Data("\(key) \(hash)\n".utf8).write(to: sidecar, options: .atomic)
        return hash
    }
}
