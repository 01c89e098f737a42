import Foundation
import QuarryCore
import QuarryEval
import QuarryIngest
import QuarryRetrieval
import QuarryStore
import QuarryTestSupport
import Synchronization
import Testing

/// The follow-up evaluation: its document-level metrics, the data set in `eval/`, and a run over
/// a small store with a hashing embedder and a scripted rewriter.
@Suite struct ConversationEvaluationTests {
    // MARK: - Metrics

    @Test func metricsOfAKnownRanking() {
        // Relevant b and c at ranks 2 and 4 of five.
        let values = ConversationEvaluation.metrics(ranking: ["x", "b", "y", "c", "a"], relevant: ["b", "c"])
        #expect(values["recall@5"] == 1)
        #expect(values["mrr@10"] == 0.5)
        #expect(values["hit@1"] == 0)
        let ndcg = (1 / log2(3.0) + 1 / log2(5.0)) / (1 + 1 / log2(3.0))
        #expect(abs((values["ndcg@10"] ?? -1) - ndcg) < 1e-12)
        #expect(abs(ndcg - 0.650_92) < 1e-5)

        // One of three relevant documents, ranked first.
        let one = ConversationEvaluation.metrics(ranking: ["b"], relevant: ["b", "c", "d"])
        #expect(abs((one["recall@5"] ?? -1) - 1.0 / 3) < 1e-12)
        #expect(one["mrr@10"] == 1)
        #expect(one["hit@1"] == 1)
        #expect(abs((one["ndcg@10"] ?? -1) - 1 / (1 + 1 / log2(3.0) + 0.5)) < 1e-12)

        // Relevant only below the cut-offs: recall@5 misses it, MRR@10 and nDCG@10 do not.
        let sixth = ConversationEvaluation.metrics(ranking: ["p", "q", "r", "s", "t", "b"], relevant: ["b"])
        #expect(sixth["recall@5"] == 0)
        #expect(abs((sixth["mrr@10"] ?? -1) - 1.0 / 6) < 1e-12)
        #expect(abs((sixth["ndcg@10"] ?? -1) - 1 / log2(7.0)) < 1e-12)

        let nothing = ConversationEvaluation.metrics(ranking: [], relevant: ["b"])
        #expect(nothing == ["recall@5": 0, "mrr@10": 0, "ndcg@10": 0, "hit@1": 0])
        #expect(Set(values.keys) == Set(ConversationEvaluation.metricNames))
    }

    @Test func chunksAreReducedToDocumentsInRankOrder() {
        func hit(_ document: String, _ ordinal: Int) -> SearchHit {
            SearchHit(
                chunkRowID: Int64(ordinal), chunkID: "\(document)#\(ordinal)", document: document, ordinal: ordinal, text: "",
                location: ChunkLocation(lineStart: 1, lineEnd: 1), score: 1
            )
        }
        let hits = [hit("a.md", 3), hit("b.md", 0), hit("a.md", 0), hit("c.md", 1), hit("b.md", 2)]
        #expect(ConversationEvaluation.documents(of: hits) == ["a.md", "b.md", "c.md"])
        #expect(ConversationEvaluation.documents(of: []) == [])
    }

    // MARK: - The data set

    @Test func theDataSetParsesAndPointsAtDocumentsOfTheCorpus() throws {
        let root = packageRoot()
        let conversations = try EvalConversation.load(from: root.appendingPathComponent("eval/conversations.jsonl"))
        #expect(conversations.count >= 20)
        let followUps = conversations.flatMap(\.followUps)
        #expect(followUps.count >= 50)
        // Some follow-ups need no context, and a rewriter should leave them alone; most do.
        let inFact = followUps.filter(\.isStandaloneInFact).count
        #expect(inFact >= 5)
        #expect(inFact * 5 < followUps.count)
        for conversation in conversations {
            #expect(conversation.collection == "default", "\(conversation.id)")
            #expect(conversation.turns.count >= 3, "\(conversation.id)")
            #expect(conversation.turns[0].standalone == nil, "\(conversation.id): the first turn is standalone")
            for (index, turn) in conversation.turns.enumerated() {
                #expect(!turn.relevant.isEmpty, "\(conversation.id) turn \(index + 1)")
                #expect(Set(turn.relevant).count == turn.relevant.count, "\(conversation.id) turn \(index + 1) repeats a document")
                for document in turn.relevant {
                    let path = root.appendingPathComponent("corpus").appendingPathComponent(document).path
                    #expect(FileManager.default.fileExists(atPath: path), "\(conversation.id) turn \(index + 1): no corpus/\(document)")
                }
            }
        }
    }

    @Test func malformedConversationsAreRefusedWithTheirLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        func error(_ text: String) throws -> QuarryError {
            let file = try directory.write(text, to: "c-\(UUID().uuidString).jsonl")
            return try #require(throws: QuarryError.self) { try EvalConversation.load(from: file) }
        }
        let first = #"{"id": "a", "turns": [{"question": "What is WAL?", "relevant": ["wal.md"]}"#
        let noStandalone = try error("\n\(first), {\"question\": \"And its checkpoints?\", \"relevant\": [\"wal.md\"]}]}\n")
        #expect(noStandalone.code == .invalidRequest)
        #expect(noStandalone.message.contains(".jsonl:2: turn 2 of a needs \"standalone\""))
        let noRelevant = try error(#"{"id": "b", "turns": [{"question": "What is WAL?", "relevant": []}]}"#)
        #expect(noRelevant.message.contains(":1: turn 1 of b names no relevant document"))
        let repeated = try error("\(first)]}\n\(first)]}\n")
        #expect(repeated.message.contains(":2: the id a is used by an earlier conversation"))
        let noTurns = try error(#"{"id": "c", "turns": []}"#)
        #expect(noTurns.message.contains(":1: conversation c has no turns"))
        let broken = try error("{\"id\": \"d\"")
        #expect(broken.message.contains(":1: expected {\"id\""))
        #expect(try error("\n\n").message.hasSuffix("holds no conversations"))

        let good = try directory.write("\(first)]}\n", to: "good.jsonl")
        let loaded = try EvalConversation.load(from: good)
        #expect(loaded == [EvalConversation(id: "a", turns: [.init(question: "What is WAL?", relevant: ["wal.md"])])])
        #expect(loaded[0].collection == nil)
    }

    // MARK: - A run over a small store

    /// A rewriter that answers from a script and records what it was given.
    final class ScriptedRewriter: FollowUpRewriter {
        let script: [String: String]
        private let calls = Mutex<[(question: String, history: [ConversationTurn])]>([])

        init(_ script: [String: String]) {
            self.script = script
        }

        var received: [(question: String, history: [ConversationTurn])] { calls.withLock { $0 } }

        func rewrite(_ question: String, history: [ConversationTurn]) async throws -> FollowUpRewrite {
            calls.withLock { $0.append((question, history)) }
            guard let standalone = script[question] else {
                return FollowUpRewrite(question: question, standalone: question, method: .none, historyTurns: history.count)
            }
            return FollowUpRewrite(question: question, standalone: standalone, method: .deterministic, historyTurns: history.count)
        }
    }

    static let aardvarks = "Aardvarks dig burrows at night and eat termites."
    static let volcanoes = "Volcanoes erupt molten lava from deep magma chambers."
    static let violins = "Violins have four strings and are played with a bow."

    /// Three one-line documents with no word in common, ingested into `default`.
    static func store(_ fixture: StoreFixture, embedder: HashingEmbedder) async throws -> any ChunkStore {
        let store = try await fixture.open()
        try fixture.directory.write(aardvarks, to: "docs/aardvarks.md")
        try fixture.directory.write(volcanoes, to: "docs/volcanoes.md")
        try fixture.directory.write(violins, to: "docs/violins.md")
        _ = try await FolderIngestor(store: store, embedder: embedder).ingest(
            folder: fixture.directory.url.appendingPathComponent("docs"), collection: "default", options: IngestOptions()
        ) { _ in }
        return store
    }

    /// A first turn; a follow-up no word of which is in any document (the rewriter fixes it);
    /// and a follow-up that is standalone in fact (the rewriter spoils it).
    static let conversation = EvalConversation(
        id: "c1",
        turns: [
            .init(question: "Where do aardvarks dig burrows?", relevant: ["aardvarks.md"]),
            .init(question: "What is their diet?", standalone: "What do aardvarks eat?", relevant: ["aardvarks.md"]),
            .init(
                question: "How many strings does a violin have?", standalone: "How many strings does a violin have?", relevant: ["violins.md"]
            ),
        ]
    )
    static let script = ["What is their diet?": "What do aardvarks eat", "How many strings does a violin have?": "aardvarks burrows termites"]

    @Test func eachMethodIsScoredOnTheFollowUpsAndRewritesSeeTheirOwnHistory() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let embedder = HashingEmbedder(dimension: 256)
        let store = try await Self.store(fixture, embedder: embedder)
        let rewriter = ScriptedRewriter(Self.script)
        let evaluator = ConversationEvaluator(
            retriever: Retriever(store: store, embedder: embedder), rewriters: [NamedRewriter("scripted", rewriter)], topK: 10
        )
        let evaluation = try await evaluator.evaluate([Self.conversation], dataset: "tiny.jsonl", modes: [.lexical, .dense])
        #expect(evaluation.dataset == "tiny.jsonl")
        #expect(evaluation.conversations == 1)
        #expect(evaluation.followUps == 2)
        #expect(evaluation.standaloneInFact == 1)
        #expect(evaluation.topK == 10)
        #expect(evaluation.chunkDepth == 30)
        #expect(evaluation.historyAnswers == "empty")
        #expect(evaluation.methods == ["raw", "scripted", "oracle"])
        #expect(evaluation.modes.map(\.mode) == ["lexical", "dense"])

        // With empty answers the history is the same in every mode: each rewrite is asked once.
        let calls = rewriter.received
        try #require(calls.count == 2)
        #expect(calls[0].question == "What is their diet?")
        #expect(calls[0].history == [ConversationTurn(question: "Where do aardvarks dig burrows?")])
        // The second sees the first follow-up as this rewriter made it, not the oracle's form.
        #expect(
            calls[1].history == [
                ConversationTurn(question: "Where do aardvarks dig burrows?"),
                ConversationTurn(question: "What is their diet?", standalone: "What do aardvarks eat"),
            ]
        )

        let lexical = evaluation.modes[0]
        #expect(lexical.firstTurns == ["recall@5": 1, "mrr@10": 1, "ndcg@10": 1, "hit@1": 1])
        let summaries = Dictionary(uniqueKeysWithValues: lexical.methods.map { ($0.method, $0) })
        let half = ["recall@5": 0.5, "mrr@10": 0.5, "ndcg@10": 0.5, "hit@1": 0.5]
        let all = ["recall@5": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0, "hit@1": 1.0]
        let none = ["recall@5": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0, "hit@1": 0.0]
        let raw = try #require(summaries["raw"])
        #expect(raw.followUps == half)
        #expect(raw.contextDependent == none)
        #expect(raw.standaloneInFact == all)
        #expect(raw.changed == nil && raw.helped == nil && raw.rewriteLatency == nil)
        let scripted = try #require(summaries["scripted"])
        #expect(scripted.followUps == half)
        #expect(scripted.contextDependent == all)
        #expect(scripted.standaloneInFact == none)
        #expect(scripted.changed == 2)
        #expect(scripted.wronglyChanged == 1)
        #expect(scripted.leftUnchanged == 0)
        #expect(scripted.fallbacks == 0)
        #expect(scripted.helped == 1)
        #expect(scripted.hurt == 1)
        #expect(scripted.rewriteLatency?.samples.count == 2)
        #expect(scripted.promptTokens == nil)
        let oracle = try #require(summaries["oracle"])
        #expect(oracle.followUps == all)
        #expect(oracle.helped == 1)
        #expect(oracle.hurt == 0)
        #expect(oracle.changed == nil)

        // Per turn: what each method searched and found.
        let turns = try #require(lexical.conversations.first?.turns)
        #expect(lexical.conversations.first?.collection == "default")
        try #require(turns.count == 3)
        #expect(turns[0].methods.map(\.method) == ["raw"])
        #expect(turns[0].standaloneInFact == nil)
        #expect(turns[0].methods[0].retrieved.first == "aardvarks.md")
        #expect(turns[1].standaloneInFact == false)
        #expect(turns[1].methods.map(\.method) == ["raw", "scripted", "oracle"])
        #expect(turns[1].methods.map(\.query) == ["What is their diet?", "What do aardvarks eat", "What do aardvarks eat?"])
        #expect(turns[1].methods[0].retrieved == [])
        #expect(turns[1].methods[1].retrieved.first == "aardvarks.md")
        #expect(turns[1].methods[1].rewrite?.method == .deterministic)
        #expect(turns[1].methods[0].rewrite == nil && turns[1].methods[2].rewrite == nil)
        #expect(turns[2].standaloneInFact == true)
        #expect(turns[2].methods[1].retrieved == ["aardvarks.md"])
        #expect(turns[2].methods[1].metrics["ndcg@10"] == 0)

        let table = evaluation.table.split(separator: "\n").map(String.init)
        #expect(table.count == 10)
        #expect(table[0] == "tiny.jsonl: 1 conversations, 2 follow-ups (1 standalone in fact); 10 documents per query from 30 chunks; history answers: empty")
        #expect(table[1].hasPrefix("mode     method         recall@5  mrr@10    ndcg@10   hit@1     ctx ndcg@10 changed  wrong   helped/hurt"))
        #expect(table[2] == "lexical  first turns    1.0000    1.0000    1.0000    1.0000")
        #expect(table[3] == "lexical  raw            0.5000    0.5000    0.5000    0.5000    0.0000      -        -       -")
        #expect(table[4] == "lexical  scripted       0.5000    0.5000    0.5000    0.5000    1.0000      2        1/1     1/1")
        #expect(table[5] == "lexical  oracle         1.0000    1.0000    1.0000    1.0000    1.0000      -        -       1/0")
        #expect(table[6].hasPrefix("dense    first turns"))
    }

    @Test func topPassageAnswersCarryEachMethodsBestChunk() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let embedder = HashingEmbedder(dimension: 256)
        let store = try await Self.store(fixture, embedder: embedder)
        let rewriter = ScriptedRewriter(Self.script)
        let evaluator = ConversationEvaluator(
            retriever: Retriever(store: store, embedder: embedder), rewriters: [NamedRewriter("scripted", rewriter)], topK: 2,
            historyAnswers: .topPassage
        )
        let evaluation = try await evaluator.evaluate(
            [Self.conversation], dataset: "tiny.jsonl", modes: [.lexical], skipped: ["llm": "no chat model configured"]
        )
        #expect(evaluation.historyAnswers == "top-passage")
        #expect(evaluation.chunkDepth == 6)
        #expect(evaluation.skipped == ["llm": "no chat model configured"])
        #expect(evaluation.table.hasSuffix("\nllm: skipped (no chat model configured)"))
        let calls = rewriter.received
        try #require(calls.count == 2)
        #expect(calls[0].history == [ConversationTurn(question: "Where do aardvarks dig burrows?", answer: Self.aardvarks)])
        #expect(calls[1].history.last == ConversationTurn(question: "What is their diet?", standalone: "What do aardvarks eat", answer: Self.aardvarks))
        // top_k 2: at most two documents ranked.
        for turn in evaluation.modes[0].conversations[0].turns {
            for method in turn.methods { #expect(method.retrieved.count <= 2) }
        }
    }

    @Test func theReportCarriesTheConversationsThroughJSONAndHTML() async throws {
        let fixture = try StoreFixture(.sqlite)
        defer { fixture.cleanUp() }
        let embedder = HashingEmbedder(dimension: 256)
        let store = try await Self.store(fixture, embedder: embedder)
        let evaluator = ConversationEvaluator(
            retriever: Retriever(store: store, embedder: embedder), rewriters: [NamedRewriter("scripted", ScriptedRewriter(Self.script))]
        )
        let evaluation = try await evaluator.evaluate([Self.conversation], dataset: "tiny.jsonl", modes: [.lexical])
        let report = EvalReport(generatedAt: "now", conversations: evaluation)
        let json = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let conversations = try #require(object["conversations"] as? [String: Any])
        #expect(conversations["follow_ups"] as? Int == 2)
        #expect(conversations["standalone_in_fact"] as? Int == 1)
        let decoded = try JSONDecoder().decode(EvalReport.self, from: json)
        #expect(decoded.conversations?.modes.first?.methods.map(\.method) == ["raw", "scripted", "oracle"])
        #expect(decoded.conversations?.modes.first?.methods[1].wronglyChanged == 1)
        #expect(decoded.retrieval == nil && decoded.qa == nil)

        let html = HTMLReport.render(report)
        #expect(html.contains("<h2>Follow-up questions</h2>"))
        #expect(!html.contains("This report holds no results"))
        #expect(html.contains("<td class=\"name\">c1 #3</td><td>scripted</td><td>How many strings does a violin have?</td><td>aardvarks burrows termites</td>"))
        #expect(!html.contains("<td class=\"name\">c1 #2</td><td>scripted</td>"))
    }
}
