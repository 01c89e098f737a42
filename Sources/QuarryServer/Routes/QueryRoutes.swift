import Foundation
import Hummingbird
import QuarryAccess
import QuarryCore
import QuarryGuard
import QuarryRetrieval
import QuarryStore

/// The body of `POST /query`.
struct QueryRequestBody: Decodable {
    var query: String
    var collection: String?
    var topK: Int?
    var ef: Int?
    var mode: SearchMode?
    var filter: Filter?
    var maxContextTokens: Int?
    var answer: AnswerKind?
    var stream: Bool?
    var maxTokens: Int?
    /// `auto` (withhold an answer the evidence does not support) or `never`.
    var abstain: AbstentionPolicy.Mode?
    /// The confidence below which `auto` abstains.
    var abstainThreshold: Double?
    /// The session the question belongs to: the turns before it make a follow-up standalone,
    /// and the question and its answer become its next turn.
    var sessionID: String?
    /// `POST /search`: also return what each retriever found on its own.
    var explain: Bool?
    /// `POST /query`, LLM answers: the one chat model to ask, among those the caller's tier may use.
    var model: String?

    /// `{"documents": [...], "path_prefix": "...", "file_types": ["md", ...], "metadata": {"key": value}}`.
    struct Filter: Decodable {
        var documents: [String]?
        var pathPrefix: String?
        var fileTypes: [String]?
        var metadata: [String: JSONValue]?

        enum CodingKeys: String, CodingKey {
            case documents, metadata
            case pathPrefix = "path_prefix"
            case fileTypes = "file_types"
        }

        func searchFilter() throws -> SearchFilter {
            var wanted: [String: String]?
            if let metadata {
                wanted = [:]
                for (key, value) in metadata {
                    switch value {
                    case .string, .number, .bool: wanted?[key] = value.text
                    default:
                        throw QuarryError(.invalidRequest, "filter.metadata.\(key) must be a string, number or boolean")
                    }
                }
            }
            return SearchFilter(
                documents: documents, pathPrefix: pathPrefix,
                fileTypes: fileTypes?.map { $0.lowercased().hasPrefix(".") ? String($0.lowercased().dropFirst()) : $0.lowercased() },
                metadata: wanted
            )
        }
    }

    enum CodingKeys: String, CodingKey {
        case query, collection, ef, mode, filter, answer, stream, abstain, explain, model
        case topK = "top_k"
        case maxContextTokens = "max_context_tokens"
        case maxTokens = "max_tokens"
        case abstainThreshold = "abstain_threshold"
        case sessionID = "session_id"
    }

    /// The abstention policy: the request's `abstain` and `abstain_threshold` over `base` (the
    /// collection's configured policy).
    func abstention(over base: AbstentionPolicy) -> AbstentionPolicy {
        AbstentionPolicy(mode: abstain ?? base.mode, threshold: abstainThreshold ?? base.threshold)
    }
}

/// The body `POST /search` answers with.
struct SearchResponseBody: Encodable {
    var query: String
    var collection: String
    var mode: SearchMode
    var hits: [Hit]
    var timingsMS: QueryTimings
    /// With `explain`: each retriever's own ranking.
    var explain: Explanation?

    struct Hit: Encodable {
        var rank: Int
        var chunkID: String
        var document: String
        var text: String
        var score: Float
        var denseScore: Float?
        var lexicalScore: Float?
        var location: ChunkLocation
        /// With `explain`: where the chunk stood in each retriever's ranking (1-based), when it was in it.
        var denseRank: Int?
        var lexicalRank: Int?

        enum CodingKeys: String, CodingKey {
            case rank, document, text, score, location
            case chunkID = "chunk_id"
            case denseScore = "dense_score"
            case lexicalScore = "lexical_score"
            case denseRank = "dense_rank"
            case lexicalRank = "lexical_rank"
        }

        init(rank: Int, hit: SearchHit, explanation: SearchExplanation? = nil) {
            self.rank = rank
            chunkID = hit.chunkID
            document = hit.document
            text = hit.text
            score = hit.score
            denseScore = hit.denseScore
            lexicalScore = hit.lexicalScore
            location = hit.location
            denseRank = explanation?.denseRanks[hit.chunkRowID]
            lexicalRank = explanation?.lexicalRanks[hit.chunkRowID]
        }
    }

    /// `{"dense": [hit…], "lexical": [hit…], "candidates": N}`: the `top_k` best of each ranking.
    struct Explanation: Encodable {
        var dense: [Hit]
        var lexical: [Hit]
        var candidates: Int

        init(_ explanation: SearchExplanation) {
            dense = explanation.dense.enumerated().map { Hit(rank: $0 + 1, hit: $1) }
            lexical = explanation.lexical.enumerated().map { Hit(rank: $0 + 1, hit: $1) }
            candidates = explanation.candidates
        }
    }

    enum CodingKeys: String, CodingKey {
        case query, collection, mode, hits, explain
        case timingsMS = "timings_ms"
    }
}

/// Which cache answered (`cache` of a query's answer).
struct CacheHitBody: Encodable {
    var kind: CacheHit.Kind
    var similarity: Float?

    init(_ hit: CacheHit) {
        kind = hit.kind
        similarity = hit.similarity
    }

    enum CodingKeys: String, CodingKey { case kind, similarity }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(similarity, forKey: .similarity)
    }
}

/// The body `POST /query` answers with (and the `done` event of a streamed query, without
/// `answer` and `citations`, which came before it).
struct QueryResponseBody: Encodable {
    var query: String
    var collection: String
    var mode: SearchMode
    var answerer: AnswerKind
    var answer: String?
    var grounded: Bool
    var abstained: Bool
    var abstentionReason: AbstentionReason?
    var evidence: AnswerEvidence?
    var guardrails: [GuardrailFlag]
    var cached: Bool
    var cache: CacheHitBody?
    var citations: [Citation]?
    var check: AnswerCheck?
    var usage: ChatUsage?
    var llm: GenerationInfo?
    /// Which model chain answered an LLM answer, and why.
    var routing: RoutingDecision?
    var timingsMS: QueryTimings
    /// The session and the turn this answer became; `nil` outside a session.
    var session: SessionTurnReference?
    /// How the question was made standalone; `nil` outside a session.
    var rewrite: FollowUpRewrite?
    /// The used-up budget the answer was made despite, and how; `nil` when none was.
    var budget: BudgetNote?

    init(
        query: String, collection: String, mode: SearchMode, result: QueryResult, streamed: Bool = false,
        session: SessionTurnReference? = nil, rewrite: FollowUpRewrite? = nil
    ) {
        self.query = query
        self.collection = collection
        self.mode = mode
        answerer = result.answerer
        answer = streamed ? nil : result.answer
        grounded = result.grounded
        abstained = result.abstained
        abstentionReason = result.abstention
        evidence = result.evidence
        guardrails = result.guardrails
        cached = result.cached
        cache = result.cache.map(CacheHitBody.init)
        citations = streamed ? nil : result.citations
        check = result.check
        usage = result.usage
        llm = result.generation
        routing = result.routing
        timingsMS = result.timings
        self.session = session
        self.rewrite = rewrite
    }

    enum CodingKeys: String, CodingKey {
        case query, collection, mode, answerer, answer, grounded, abstained, evidence, guardrails, cached, cache, citations, check, usage, llm
        case session, rewrite, routing, budget
        case abstentionReason = "abstention_reason"
        case timingsMS = "timings_ms"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(query, forKey: .query)
        try c.encode(collection, forKey: .collection)
        try c.encode(mode, forKey: .mode)
        try c.encode(answerer, forKey: .answerer)
        try c.encodeIfPresent(answer, forKey: .answer)
        try c.encode(grounded, forKey: .grounded)
        try c.encode(abstained, forKey: .abstained)
        try c.encode(abstentionReason, forKey: .abstentionReason)
        try c.encode(evidence, forKey: .evidence)
        try c.encode(guardrails, forKey: .guardrails)
        try c.encode(cached, forKey: .cached)
        try c.encode(cache, forKey: .cache)
        try c.encodeIfPresent(citations, forKey: .citations)
        try c.encode(check, forKey: .check)
        try c.encode(usage, forKey: .usage)
        try c.encode(llm, forKey: .llm)
        try c.encode(routing, forKey: .routing)
        try c.encode(timingsMS, forKey: .timingsMS)
        try c.encodeIfPresent(session, forKey: .session)
        try c.encodeIfPresent(rewrite, forKey: .rewrite)
        try c.encodeIfPresent(budget, forKey: .budget)
    }
}

/// What the caller's budgets allow one `/query`.
struct BudgetPlan: Sendable {
    var answer: AnswerKind
    var maxContextTokens: Int?
    var maxTokens: Int?
    /// Whether a chat model may be called (for the answer or a follow-up's rewrite).
    var modelAllowed = true
    /// Why the answer was made without the model, when a budget is used up.
    var note: BudgetNote?
}

/// A used-up budget a query was answered despite (`budget` of a query's answer): which limit,
/// what was done instead (`extractive`: an extractive answer; `deterministic_rewrite`: the
/// follow-up rewritten without the model), and the message.
struct BudgetNote: Encodable, Sendable {
    var limit: String
    var action: String
    var message: String

    init(_ exceeded: LimitExceeded, action: String) {
        limit = exceeded.limit.rawValue
        self.action = action
        message = exceeded.message
    }
}

/// Where an answer given in a session was recorded: `{"id": "ses_…", "turn": 3}`.
struct SessionTurnReference: Encodable {
    var id: String
    var turn: Int
}

/// `POST /query`, `POST /search`, `GET /health`, `GET /collections`.
struct QueryRoutes: Sendable {
    let retriever: Retriever
    let store: any ChunkReader
    let metrics: ServerMetrics
    let maxBodyBytes: Int
    let defaultTopK: Int
    /// Monthly LLM quotas; `nil` for none.
    let limits: ServiceLimits?
    /// Sessions, for questions asked with `session_id`.
    let conversations: Conversations

    func register(on router: Router<QuarryRequestContext>) {
        router.get("/health") { _, _ in
            try JSON.response(["status": "ok"])
        }
        router.get("/collections") { _, context in
            let principal = try context.principal(for: .read)
            let collections = try await store.collections().compactMap { info -> CollectionSummary? in
                guard let name = principal.visibleName(ofStoreName: info.name) else { return nil }
                return CollectionSummary(
                    name: name, model: info.model.name, dimension: info.model.dimension,
                    documents: info.documentCount, chunks: info.chunkCount
                )
            }
            return try JSON.response(["collections": collections])
        }
        router.post("/query") { request, context in
            let principal = try context.principal(for: .read)
            let body = try await JSON.decode(QueryRequestBody.self, from: request, limit: maxBodyBytes)
            if body.model != nil, body.answer != .llm {
                throw QuarryError(.invalidRequest, "model names the chat model of an answer 'llm'; ask for answer 'llm' with it")
            }
            // Budgets first: a request over one is refused (or answered extractively) before any
            // model is called, the rewrite of a follow-up included.
            // The guards' policy and the model routes: the caller's tier (key, else tenant, else
            // the default tier; the local identity has none).
            let tier = Self.tier(of: principal, limits: limits)
            let plan = try await budgetPlan(body, tier: tier, for: principal)
            // In a session, a follow-up is made standalone from the turns before it; retrieval,
            // the caches and the answerer see the standalone question.
            let (session, rewrite) = try await openSession(body.sessionID, question: body.query, for: principal, useModel: plan.modelAllowed)
            let question = rewrite?.standalone ?? body.query
            let collection = body.collection ?? session?.collection ?? CollectionName.default
            let stored = try principal.storeName(of: collection)
            let mode = body.mode ?? .hybrid
            let filter = try Self.filter(body.filter, for: principal)
            let guardrails = retriever.guardrails.policy(collection: stored, tier: tier)
            let query: @Sendable ((@Sendable (AnswerEvent) async throws -> Void)?) async throws -> (QueryResult, SessionTurnReference?) = { events in
                var result = try await retriever.answer(
                    query: question, collection: stored, topK: body.topK ?? defaultTopK, ef: body.ef, mode: mode,
                    filter: filter, maxContextTokens: plan.maxContextTokens, answer: plan.answer,
                    maxTokens: plan.maxTokens, abstention: body.abstention(over: retriever.abstention(for: stored)),
                    guardrails: guardrails, tier: tier, model: plan.answer == .llm ? body.model : nil, events: events
                )
                try await recordUsage(of: &result, rewrite: rewrite, question: question, mode: mode, for: principal)
                guard let session else { return (result, nil) }
                let turn = try await conversations.record(Self.turn(body.query, rewrite: rewrite, result: result), in: session)
                return (result, SessionTurnReference(id: session.id, turn: turn.seq))
            }
            if body.stream == true {
                return try await ServerSentEvents.response(requestID: context.id, logger: context.logger) { events in
                    let (result, turn) = try await query(events)
                    if !result.cached { metrics.recordStages(result.timings) }
                    var response = QueryResponseBody(
                        query: body.query, collection: collection, mode: mode, result: result, streamed: true, session: turn, rewrite: rewrite
                    )
                    response.budget = plan.note
                    return response
                }
            }
            let (result, turn) = try await query(nil)
            if !result.cached { metrics.recordStages(result.timings) }
            var response = QueryResponseBody(query: body.query, collection: collection, mode: mode, result: result, session: turn, rewrite: rewrite)
            response.budget = plan.note
            return try JSON.response(response)
        }
        router.post("/search") { request, context in
            let principal = try context.principal(for: .read)
            let body = try await JSON.decode(QueryRequestBody.self, from: request, limit: maxBodyBytes)
            let collection = body.collection ?? CollectionName.default
            let stored = try principal.storeName(of: collection)
            let mode = body.mode ?? .hybrid
            let topK = body.topK ?? defaultTopK
            let filter = try Self.filter(body.filter, for: principal)
            let hits: [SearchHit]
            let timings: QueryTimings
            var explanation: SearchExplanation?
            if body.explain == true {
                (hits, timings, explanation) = try await retriever.explain(
                    query: body.query, collection: stored, topK: topK, ef: body.ef, mode: mode, filter: filter
                )
            } else {
                (hits, timings) = try await retriever.search(query: body.query, collection: stored, topK: topK, ef: body.ef, mode: mode, filter: filter)
                metrics.recordStages(timings)
            }
            if mode != .lexical { try await recordEmbedding(of: body.query, for: principal) }
            return try JSON.response(
                SearchResponseBody(
                    query: body.query, collection: collection, mode: mode,
                    hits: hits.enumerated().map { SearchResponseBody.Hit(rank: $0 + 1, hit: $1, explanation: explanation) },
                    timingsMS: timings, explain: explanation.map(SearchResponseBody.Explanation.init)
                )
            )
        }
    }
}

extension QueryRoutes {
    /// The caller's tier, which chooses its guards' policy and model routes: the key's, else
    /// its tenant's, else the default tier; the local identity has none.
    static func tier(of principal: Principal, limits: ServiceLimits?) -> String? {
        principal.keyID == nil ? nil : principal.tier ?? principal.tenantTier ?? limits?.configuration.defaultTier
    }

    /// The session `id` names, if any, and the question made standalone from its turns.
    func openSession(_ id: String?, question: String, for principal: Principal, useModel: Bool) async throws -> (SessionRecord?, FollowUpRewrite?) {
        guard let id else { return (nil, nil) }
        let session = try await conversations.sessionToContinue(id, for: principal)
        return (session, try await conversations.prepare(question, in: session, useModel: useModel).rewrite)
    }

    /// What the caller's budgets allow this request: the answerer, the context and answer
    /// lengths (a size left to the server is lowered to the tier's maximum), and whether a
    /// chat model may be called at all.
    /// - Throws: `QuarryError(.rateLimited)` when a budget is used up and the configuration
    ///   refuses (`limits.on_budget_exceeded: refuse`), or the request asks for more than its
    ///   tier allows.
    func budgetPlan(_ body: QueryRequestBody, tier: String?, for principal: Principal) async throws -> BudgetPlan {
        var plan = BudgetPlan(answer: body.answer ?? .extractive, maxContextTokens: body.maxContextTokens, maxTokens: body.maxTokens)
        guard let limits else { return plan }
        let effective = try limits.effective(for: principal)
        if plan.answer == .llm, let router = retriever.router, router.answersExtractively(tier: tier) {
            // The tier's routes call no model, whatever the question: nothing to budget.
            return plan
        }
        if plan.answer == .llm {
            // The prompt besides the passages (the rules and the question), counted only when a
            // prompt limit needs it: it is read on every LLM request.
            let prompt = effective.maxPromptTokens == nil ? 0 : retriever.llm.map { llm in
                llm.messages(query: body.query, citations: []).reduce(0) { $0 + retriever.embedder.tokenCount($1.content) }
            } ?? 0
            let request = ModelRequest(
                contextTokens: body.maxContextTokens, completionTokens: body.maxTokens, defaultContextTokens: retriever.contextTokens,
                defaultCompletionTokens: retriever.llm?.client.settings.maxTokens ?? 512, promptTokens: prompt,
                minimumContextTokens: Retriever.contextTokensRange.lowerBound
            )
            let decision = try await limits.budget.decide(request, tenant: principal.tenant, keyID: principal.keyID, limits: effective)
            metrics.recordBudget(decision)
            switch decision {
            case .allowed(let context, let completion):
                plan.maxContextTokens = body.maxContextTokens == nil && context == retriever.contextTokens ? nil : context
                plan.maxTokens = body.maxTokens == nil && completion == retriever.llm?.client.settings.maxTokens ? nil : completion
            case .refused(let exceeded):
                throw exceeded.error
            case .extractive(let exceeded):
                plan.answer = .extractive
                plan.modelAllowed = false
                plan.note = BudgetNote(exceeded, action: "extractive")
            }
        } else if body.sessionID != nil, conversations.rewritesWithModel,
            let exceeded = try await limits.budget.exhausted(tenant: principal.tenant, keyID: principal.keyID, limits: effective)
        {
            // An extractive answer is not refused for a used-up budget; its follow-up is rewritten
            // without the model.
            plan.modelAllowed = false
            plan.note = BudgetNote(exceeded, action: "deterministic_rewrite")
        }
        return plan
    }

    /// Counts what the request's model calls used, per tenant, key, model and day (and the
    /// month's quota), and in the metrics; an answer's `usage.cost_usd` becomes the price
    /// table's. The question's embedding is counted too, unless no embedding was made (a lexical
    /// search, an exact cache hit); its daily counts are written together with others, about once
    /// a second, so a query pays no store write for them.
    func recordUsage(of result: inout QueryResult, rewrite: FollowUpRewrite?, question: String, mode: SearchMode, for principal: Principal) async throws {
        guard let limits else { return }
        var calls: [(usage: ModelUsage, isAnswer: Bool)] = []
        if let usage = result.usage, !result.cached {
            calls.append((.chat(model: result.generation?.model ?? "", promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, costUSD: usage.costUSD), true))
        }
        if let usage = rewrite?.usage {
            calls.append((.chat(model: rewrite?.model ?? "", promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, costUSD: usage.costUSD), false))
        }
        for call in calls {
            let cost = try await limits.record(call.usage, for: principal, metrics: metrics)
            if call.isAnswer { result.usage?.costUSD = cost }
        }
        // The question was embedded unless an exact cache hit answered, or the search was lexical.
        guard mode != .lexical, !result.cached || result.cache?.kind == .semantic else { return }
        try await recordEmbedding(of: question, for: principal)
    }

    /// Counts the word pieces of `question`, embedded for `principal`'s search.
    func recordEmbedding(of question: String, for principal: Principal) async throws {
        let embedder = retriever.embedder
        try await limits?.record(.embedding(model: embedder.model.name, tokens: embedder.encodedTokenCount([question])), for: principal, metrics: metrics)
    }

    /// The turn a session keeps of a question and its answer.
    static func turn(_ question: String, rewrite: FollowUpRewrite?, result: QueryResult) -> SessionTurn {
        let rewritten = rewrite.flatMap { $0.method == .none ? nil : $0.standalone }
        let prompt = (result.usage?.promptTokens ?? 0) + (rewrite?.usage?.promptTokens ?? 0)
        let completion = (result.usage?.completionTokens ?? 0) + (rewrite?.usage?.completionTokens ?? 0)
        let used = result.usage != nil || rewrite?.usage != nil
        return SessionTurn(
            question: question, standaloneQuestion: rewritten, answer: result.answer, abstained: result.abstained,
            citations: result.citations.map { SessionCitation(id: $0.id, chunkID: $0.chunkID, document: $0.document) },
            promptTokens: used ? prompt : nil, completionTokens: used ? completion : nil,
            model: result.generation.flatMap { $0.model.isEmpty ? nil : $0.model }
        )
    }

    /// The request's filter with the caller's document permissions added: applied inside every
    /// search, so a caller never gets, or misses, hits because of documents it may not see.
    static func filter(_ requested: QueryRequestBody.Filter?, for principal: Principal) throws -> SearchFilter? {
        var filter = try requested?.searchFilter() ?? SearchFilter()
        filter.visibleTo = principal.visibility
        return filter.isEmpty ? nil : filter
    }
}

struct CollectionSummary: Encodable {
    var name: String
    var model: String
    var dimension: Int
    var documents: Int
    var chunks: Int
}

/// JSON in and out of requests, with API-shaped errors.
enum JSON {
    /// Reads at most `limit` bytes of the request body and decodes them.
    /// - Throws: `APIError` 413 when the body is larger, 400 when it is not the expected JSON.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try requireJSONContentType(request)
        let buffer = try await body(of: request, limit: limit)
        guard buffer.readableBytes > 0 else {
            throw APIError(status: .badRequest, code: "invalid_request", message: "request body is empty; send a JSON object")
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError(status: .badRequest, code: "invalid_request", message: describe(error, body: data))
        } catch {
            throw APIError(status: .badRequest, code: "invalid_request", message: "request body is not valid JSON")
        }
    }

    /// The request body, at most `limit` bytes of it.
    /// - Throws: `APIError` 413 when the body is larger; 400 when it cannot be read (a malformed
    ///   chunked body, such as a chunk size that is not hexadecimal, or a body cut short).
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(status: .contentTooLarge, code: "payload_too_large", message: "request body is over \(limit) bytes")
        }
        var buffer = ByteBuffer()
        do {
            for try await part in request.body {
                guard buffer.readableBytes + part.readableBytes <= limit else {
                    throw APIError(status: .contentTooLarge, code: "payload_too_large", message: "request body is over \(limit) bytes")
                }
                buffer.writeImmutableBuffer(part)
            }
        } catch let error as APIError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            // Only the connection fails a body stream: the client sent what HTTP cannot parse.
            throw APIError(
                status: .badRequest, code: QuarryError.Code.invalidRequest.rawValue,
                message: "the request body could not be read (a malformed chunked encoding or a body cut short)"
            )
        }
        return buffer
    }

    /// Refuses a body that does not say it is JSON. A web page can make a browser send
    /// `text/plain` or a form to this server without asking first (no CORS preflight); it
    /// cannot send `application/json` so, which makes every JSON route safe from cross-site
    /// request forgery.
    /// - Throws: `APIError` 415.
    static func requireJSONContentType(_ request: Request) throws {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json")) else {
            throw APIError(
                status: .unsupportedMediaType, code: QuarryError.Code.invalidRequest.rawValue,
                message: type.isEmpty
                    ? "send the body as JSON with Content-Type: application/json"
                    : "Content-Type \(type) is not accepted; send the body as JSON with Content-Type: application/json"
            )
        }
    }

    /// A 200 response with `value` encoded as JSON.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    private static func describe(_ error: DecodingError, body: Data) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "body" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _):
            return "missing field '\(key.stringValue)'"
        case .typeMismatch(let type, let context):
            return "field '\(path(context))' must be of type \(type)"
        case .valueNotFound(let type, let context):
            return "field '\(path(context))' must be a \(type), not null"
        case .dataCorrupted(let context):
            guard context.codingPath.isEmpty else { return "field '\(path(context))' is invalid" }
            // The decoder says "not valid JSON" also for a number that does not fit its field
            // (`"top_k": 5.5`): name the field when the body itself parses.
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return "request body is not valid JSON" }
            let fractional = object.filter { _, value in
                // true and false are whole (1, 0) if they read as numbers at all.
                guard let number = value as? Double else { return false }
                return number.rounded() != number || abs(number) >= 9.0e15
            }
            if let (key, value) = fractional.min(by: { $0.key < $1.key }) {
                return "field '\(key)' must be a whole number, got \(value)"
            }
            return "a field of the request has a value of the wrong form"
        @unknown default:
            return "request body is not valid JSON"
        }
    }
}
