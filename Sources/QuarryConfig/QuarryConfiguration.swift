import Foundation
import QuarryAccess
import QuarryCore
import QuarryGuard
import QuarryRetrieval

/// The settings of `quarry serve`: defaults, overridden by a JSON file, overridden by
/// environment variables, overridden by command-line options. Checked as a whole at start, with
/// one message per problem.
///
/// The file (`quarry serve --config FILE`, or `$QUARRY_CONFIG`), every key optional, unknown keys
/// refused:
///
/// ```json
/// {
///   "store": ".quarry", "model": "models/all-MiniLM-L6-v2",
///   "backend": "sqlite", "read_only": false,
///   "postgres": {"url": "postgres://quarry@db:5432/quarry", "pool_size": 8, "statement_timeout_ms": 30000,
///                "hnsw_m": 16, "hnsw_ef_construction": 200},
///   "server": {"host": "127.0.0.1", "port": 8080, "max_body_bytes": 1048576, "default_top_k": 5,
///              "ingest_roots": ["/srv/docs"], "cache_entries": 1024, "log_level": "info"},
///   "search": {"exact_below": 10000, "max_context_tokens": 2000,
///              "fusion": {"dense_weight": 1, "lexical_weight": 1, "k": 60, "candidates": 50}},
///   "llm": {"base_url": "http://127.0.0.1:8000/v1", "api_key": "...", "model": "qwen2.5-7b-instruct",
///           "fallbacks": [{"model": "llama-3.1-8b-instruct"}], ...},
///   "limits": {"tiers": {"free": {"rate": 5, "burst": 10, "monthly_tokens": 1000000}}, "default_tier": "free"},
///   "abstention": {"mode": "auto", "threshold": 0.13, "collections": {"faq": {"threshold": 0.4}}},
///   "guardrails": {"default": {"question": "refuse", "passages": "exclude", "ingest_pii": "detect", "answers": "redact"},
///                  "tiers": {"free": {"answers": "refuse"}}, "collections": {"hr": {"ingest_pii": "redact"}}},
///   "sessions": {"ttl_seconds": 604800, "history_turns": 8, "history_tokens": 512, "rewrite": "auto"},
///   "routing": {"models": {"small": {"base_url": "http://127.0.0.1:8081/v1", "model": "gemma-3-270m"}},
///               "tiers": {"free": {"chain": ["extractive"]}, "pro": {"chain": ["llm"], "short": ["small", "llm"]}}}
/// }
/// ```
public struct QuarryConfiguration: Sendable, Equatable, Codable {
    /// The SQLite store's directory.
    public var store = ".quarry"
    /// The model folder; `nil` for `defaultModelPath`.
    public var model: String?
    /// The model's name as collections record it and `/v1/embeddings` reports it; `nil` for the
    /// name the model's weights or metadata give.
    public var modelName: String?
    /// `sqlite` (the embedded store in `store`) or `pgvector` (PostgreSQL at `postgres.url`).
    public var backend = "sqlite"
    /// Open the SQLite store read-only: it answers queries and `verify`, takes no writes, and
    /// changes nothing in its directory (a replica, a backup). A store on a read-only file
    /// system is opened so without it.
    public var readOnly = false
    /// The pgvector backend's database and pool.
    public var postgres = Postgres()
    /// The HTTP server.
    public var server = Server()
    /// Retrieval.
    public var search = Search()
    /// The chat model for `answer: "llm"` (off unless configured).
    public var llm = LLM()
    /// Rate limits and quotas by tier (none unless configured).
    public var limits = LimitsConfiguration()
    /// When answers are withheld for want of evidence (docs/guardrails.md#abstention).
    public var abstention = Abstention()
    /// The guards: prompt injection and personal data, by tier and collection
    /// (docs/guardrails.md).
    public var guardrails = GuardrailSettings()
    /// Conversations: their lifetime and how follow-ups are made standalone.
    public var sessions = Sessions()
    /// Which chat models answer `answer: "llm"`, by tier and question shape (nothing routed
    /// unless configured).
    public var routing = RoutingConfiguration()
    /// Prices of the models by name, for cost budgets, `GET /usage` and the metrics.
    public var prices = PriceTable()

    /// The `abstention` section: the default policy and per-collection ones (by store
    /// collection name), each `{"mode": "auto" | "never", "threshold": 0…1}` with either key
    /// optional.
    public struct Abstention: Sendable, Equatable, Codable {
        /// Whether answers may be withheld (`auto`) or never are.
        public var mode = AbstentionPolicy.Mode.auto
        /// The confidence below which `auto` withholds an answer.
        public var threshold = AbstentionPolicy.defaultThreshold
        /// Per-collection policies.
        public var collections: [String: Layer] = [:]

        /// One collection's policy: either key optional (the default's value when left out).
        public struct Layer: Sendable, Equatable, Codable {
            /// `auto` or `never`.
            public var mode: AbstentionPolicy.Mode?
            /// The confidence below which `auto` withholds an answer.
            public var threshold: Double?

            enum CodingKeys: String, CodingKey, CaseIterable { case mode, threshold }

            /// Creates a layer.
            public init(mode: AbstentionPolicy.Mode? = nil, threshold: Double? = nil) {
                self.mode = mode
                self.threshold = threshold
            }

            /// Decodes a layer, refusing unknown keys.
            public init(from decoder: any Decoder) throws {
                try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
                let c = try decoder.container(keyedBy: CodingKeys.self)
                mode = try Abstention.mode(c.decodeIfPresent(String.self, forKey: .mode), at: c.codingPath)
                threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case mode, threshold, collections }

        /// The defaults: `auto` at the calibrated threshold for every collection.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mode = try Self.mode(c.decodeIfPresent(String.self, forKey: .mode), at: c.codingPath) ?? .auto
            threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? AbstentionPolicy.defaultThreshold
            collections = try c.decodeIfPresent([String: Layer].self, forKey: .collections) ?? [:]
        }

        static func mode(_ raw: String?, at path: [any CodingKey]) throws -> AbstentionPolicy.Mode? {
            guard let raw else { return nil }
            guard let mode = AbstentionPolicy.Mode(rawValue: raw) else {
                let name = (path.map(\.stringValue) + ["mode"]).joined(separator: ".")
                throw QuarryError(.invalidRequest, "\(name) must be auto or never, got '\(raw)'")
            }
            return mode
        }

        /// The policies the retriever applies.
        public var policies: AbstentionPolicies {
            let base = AbstentionPolicy(mode: mode, threshold: threshold)
            return AbstentionPolicies(
                default: base,
                collections: collections.mapValues { AbstentionPolicy(mode: $0.mode ?? base.mode, threshold: $0.threshold ?? base.threshold) }
            )
        }

        /// Every problem with the section, one line each.
        public func problems() -> [String] {
            var problems: [String] = []
            if !(threshold.isFinite && (0...1).contains(threshold)) {
                problems.append("abstention.threshold must be between 0 and 1, got \(threshold)")
            }
            for name in collections.keys.sorted() {
                if let value = collections[name]?.threshold, !(value.isFinite && (0...1).contains(value)) {
                    problems.append("abstention.collections.\(name).threshold must be between 0 and 1, got \(value)")
                }
            }
            return problems
        }
    }

    /// The pgvector backend's database.
    public struct Postgres: Sendable, Equatable, Codable {
        /// `postgres://user:password@host:port/database`.
        public var url: String?
        /// The most connections one node opens.
        public var poolSize = 8
        /// The server cancels a statement that runs longer.
        public var statementTimeoutMS = 30_000
        /// HNSW build parameters of a collection's pgvector index.
        public var hnswM = 16
        /// pgvector HNSW index: candidate list while building (`ef_construction`).
        public var hnswEfConstruction = 200

        enum CodingKeys: String, CodingKey, CaseIterable {
            case url
            case poolSize = "pool_size"
            case statementTimeoutMS = "statement_timeout_ms"
            case hnswM = "hnsw_m"
            case hnswEfConstruction = "hnsw_ef_construction"
        }

        /// The defaults.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Postgres()
            url = try c.decodeIfPresent(String.self, forKey: .url)
            poolSize = try c.decodeIfPresent(Int.self, forKey: .poolSize) ?? d.poolSize
            statementTimeoutMS = try c.decodeIfPresent(Int.self, forKey: .statementTimeoutMS) ?? d.statementTimeoutMS
            hnswM = try c.decodeIfPresent(Int.self, forKey: .hnswM) ?? d.hnswM
            hnswEfConstruction = try c.decodeIfPresent(Int.self, forKey: .hnswEfConstruction) ?? d.hnswEfConstruction
        }
    }

    /// Settings of the HTTP server.
    public struct Server: Sendable, Equatable, Codable {
        /// Address to listen on; loopback by default.
        public var host = "127.0.0.1"
        /// Port to listen on; 0 picks a free one.
        public var port = 8080
        /// Largest request body accepted (413 above).
        public var maxBodyBytes = 1 << 20
        /// `top_k` of a request that names none.
        public var defaultTopK = 5
        /// Folders under which `POST /ingest` may read; none turns it off.
        public var ingestRoots: [String] = []
        /// A folder of eval reports (`quarry eval --html`) served at `GET /reports` and shown in
        /// the console; `nil` for none.
        public var reportsDir: String?
        /// Whether `GET /` serves the web console.
        public var console = true
        /// Query results kept in the exact-match cache; 0 turns it off (and the semantic cache).
        public var cacheEntries = 1024
        /// Answers kept in the semantic cache (paraphrased questions, `SemanticCache`); 0 turns it
        /// off. Its question checks let 0.34 % / 0.87 % of PAWS's hard negatives through (dev /
        /// test, docs/benchmarks.md).
        public var semanticCacheEntries = 1024
        /// The cosine similarity at or above which a cached question's answer may serve another
        /// (still subject to `QuestionMatch`'s checks).
        public var semanticCacheThreshold = Double(QuestionMatch.defaultSimilarity)
        /// Seconds a semantic cache entry is kept.
        public var semanticCacheTTLSeconds = 3600.0
        /// Log level: trace, debug, info, notice, warning, error, critical.
        public var logLevel = "info"
        /// Log format: text, or json (one object per line).
        public var logFormat = "text"
        /// Seconds a connection may stay idle (no request read, no response written) before it
        /// is closed.
        public var idleTimeoutSeconds: Double = 30
        /// Seconds a new connection has to send its first whole request head.
        public var headerTimeoutSeconds: Double = 10
        /// Host names the server answers to; empty: loopback names on loopback, any elsewhere.
        public var allowedHosts: [String] = []
        /// Web origins whose pages may call the API (CORS); empty turns CORS off.
        public var corsOrigins: [String] = []
        /// Requests running and waiting per route class (`query`, `embeddings`, `write`,
        /// `read`); classes not named keep their defaults.
        public var admission: [String: Admission] = [:]
        /// Seconds a request may wait for its turn before a 503.
        public var admissionWaitSeconds: Double = 30
        /// Limits of one `POST /v1/embeddings` call.
        public var embeddings = Embeddings()

        /// Requests of one route class running at once and waiting.
        public struct Admission: Sendable, Equatable, Codable {
            /// Requests running at once.
            public var inFlight: Int
            /// Requests waiting for a turn; beyond them, 503 at once.
            public var queued: Int

            enum CodingKeys: String, CodingKey, CaseIterable {
                case inFlight = "in_flight"
                case queued
            }

            /// Creates a setting.
            public init(inFlight: Int, queued: Int) {
                self.inFlight = inFlight
                self.queued = queued
            }

            /// Decodes the setting, refusing unknown keys; both keys are required.
            public init(from decoder: any Decoder) throws {
                try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
                let c = try decoder.container(keyedBy: CodingKeys.self)
                inFlight = try c.decode(Int.self, forKey: .inFlight)
                queued = try c.decode(Int.self, forKey: .queued)
            }
        }

        /// Limits of one `POST /v1/embeddings` call.
        public struct Embeddings: Sendable, Equatable, Codable {
            /// Most texts in one call.
            public var maxInputs = 256
            /// Most word pieces in one call, after truncation to the model's window.
            public var maxTokens = 32_768

            enum CodingKeys: String, CodingKey, CaseIterable {
                case maxInputs = "max_inputs"
                case maxTokens = "max_tokens"
            }

            /// The defaults.
            public init() {}

            /// Decodes the section, refusing unknown keys.
            public init(from decoder: any Decoder) throws {
                try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
                let c = try decoder.container(keyedBy: CodingKeys.self)
                maxInputs = try c.decodeIfPresent(Int.self, forKey: .maxInputs) ?? 256
                maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? 32_768
            }
        }

        /// Route classes `admission` may name.
        public static let routeClasses = ["query", "embeddings", "embeddings_bulk", "write", "read"]

        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, admission, embeddings, console
            case reportsDir = "reports_dir"
            case idleTimeoutSeconds = "idle_timeout_seconds"
            case headerTimeoutSeconds = "header_timeout_seconds"
            case allowedHosts = "allowed_hosts"
            case corsOrigins = "cors_origins"
            case admissionWaitSeconds = "admission_wait_seconds"
            case logFormat = "log_format"
            case maxBodyBytes = "max_body_bytes"
            case defaultTopK = "default_top_k"
            case ingestRoots = "ingest_roots"
            case cacheEntries = "cache_entries"
            case semanticCacheEntries = "semantic_cache_entries"
            case semanticCacheThreshold = "semantic_cache_threshold"
            case semanticCacheTTLSeconds = "semantic_cache_ttl_seconds"
            case logLevel = "log_level"
        }

        /// The defaults.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Server()
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
            maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? d.maxBodyBytes
            defaultTopK = try c.decodeIfPresent(Int.self, forKey: .defaultTopK) ?? d.defaultTopK
            ingestRoots = try c.decodeIfPresent([String].self, forKey: .ingestRoots) ?? d.ingestRoots
            reportsDir = try c.decodeIfPresent(String.self, forKey: .reportsDir) ?? d.reportsDir
            console = try c.decodeIfPresent(Bool.self, forKey: .console) ?? d.console
            cacheEntries = try c.decodeIfPresent(Int.self, forKey: .cacheEntries) ?? d.cacheEntries
            semanticCacheEntries = try c.decodeIfPresent(Int.self, forKey: .semanticCacheEntries) ?? d.semanticCacheEntries
            semanticCacheThreshold = try c.decodeIfPresent(Double.self, forKey: .semanticCacheThreshold) ?? d.semanticCacheThreshold
            semanticCacheTTLSeconds = try c.decodeIfPresent(Double.self, forKey: .semanticCacheTTLSeconds) ?? d.semanticCacheTTLSeconds
            logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? d.logLevel
            logFormat = try c.decodeIfPresent(String.self, forKey: .logFormat) ?? d.logFormat
            idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
            headerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .headerTimeoutSeconds) ?? d.headerTimeoutSeconds
            allowedHosts = try c.decodeIfPresent([String].self, forKey: .allowedHosts) ?? d.allowedHosts
            corsOrigins = try c.decodeIfPresent([String].self, forKey: .corsOrigins) ?? d.corsOrigins
            admission = try c.decodeIfPresent([String: Admission].self, forKey: .admission) ?? d.admission
            admissionWaitSeconds = try c.decodeIfPresent(Double.self, forKey: .admissionWaitSeconds) ?? d.admissionWaitSeconds
            embeddings = try c.decodeIfPresent(Embeddings.self, forKey: .embeddings) ?? d.embeddings
        }
    }

    /// Settings of retrieval.
    public struct Search: Sendable, Equatable, Codable {
        /// Collections with fewer chunks are searched exactly; larger ones through HNSW.
        public var exactBelow = 10_000
        /// Word pieces of passages an answer may draw on.
        public var maxContextTokens = Retriever.defaultContextTokens
        /// How hybrid search fuses dense and lexical rankings.
        public var fusion = Fusion()

        enum CodingKeys: String, CodingKey, CaseIterable {
            case fusion
            case exactBelow = "exact_below"
            case maxContextTokens = "max_context_tokens"
        }

        /// The defaults.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Search()
            exactBelow = try c.decodeIfPresent(Int.self, forKey: .exactBelow) ?? d.exactBelow
            maxContextTokens = try c.decodeIfPresent(Int.self, forKey: .maxContextTokens) ?? d.maxContextTokens
            fusion = try c.decodeIfPresent(Fusion.self, forKey: .fusion) ?? d.fusion
        }
    }

    /// Reciprocal-rank fusion of the dense and lexical rankings.
    public struct Fusion: Sendable, Equatable, Codable {
        /// Weight of the dense ranking in reciprocal-rank fusion.
        public var denseWeight = 1.0
        /// Weight of the lexical (BM25) ranking.
        public var lexicalWeight = 1.0
        /// RRF's rank offset: each ranking adds `weight / (k + rank)`.
        public var k = 60.0
        /// Hits each retriever contributes before fusion.
        public var candidates = 50

        enum CodingKeys: String, CodingKey, CaseIterable {
            case k, candidates
            case denseWeight = "dense_weight"
            case lexicalWeight = "lexical_weight"
        }

        /// The defaults.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Fusion()
            denseWeight = try c.decodeIfPresent(Double.self, forKey: .denseWeight) ?? d.denseWeight
            lexicalWeight = try c.decodeIfPresent(Double.self, forKey: .lexicalWeight) ?? d.lexicalWeight
            k = try c.decodeIfPresent(Double.self, forKey: .k) ?? d.k
            candidates = try c.decodeIfPresent(Int.self, forKey: .candidates) ?? d.candidates
        }

        /// The retriever's fusion settings.
        public var settings: FusionSettings {
            FusionSettings(denseWeight: denseWeight, lexicalWeight: lexicalWeight, k: k, candidates: candidates)
        }
    }

    /// The chat model for `answer: "llm"`: a primary model and fallbacks, each on any
    /// OpenAI-compatible API. Without `base_url` and `model`, LLM answers are refused.
    public struct LLM: Sendable, Equatable, Codable {
        /// The OpenAI-compatible API's base URL (`…/v1`).
        public var baseURL: String?
        /// Its key; never logged.
        public var apiKey: String?
        /// The primary chat model.
        public var model: String?
        /// Price of a million prompt tokens, for usage reports.
        public var inputCostPerMillion: Double?
        /// Price of a million completion tokens.
        public var outputCostPerMillion: Double?
        /// Models tried in order when the primary fails.
        public var fallbacks: [Fallback] = []
        /// Connection timeout of one attempt.
        public var connectTimeoutMS = 5_000
        /// Time allowed until the first token of an attempt.
        public var firstTokenTimeoutMS = 30_000
        /// Time allowed for the whole answer, retries and fallbacks included.
        public var totalTimeoutMS = 120_000
        /// Retries of one model on 429, 5xx or a dropped connection.
        public var maxRetries = 2
        /// First retry delay (doubled each retry, with jitter).
        public var initialBackoffMS = 500
        /// Longest retry delay.
        public var maxBackoffMS = 8_000
        /// Most tokens an answer may have.
        public var maxTokens = 512
        /// Sampling temperature.
        public var temperature = 0.0
        /// Answer extractively when every model failed (instead of a 503).
        public var fallbackToExtractive = true

        /// A model tried when the ones before it fail; `base_url` and `api_key` default to the primary's.
        public typealias Fallback = ChatModelEntry

        enum CodingKeys: String, CodingKey, CaseIterable {
            case model, fallbacks, temperature
            case baseURL = "base_url"
            case apiKey = "api_key"
            case inputCostPerMillion = "input_cost_per_million"
            case outputCostPerMillion = "output_cost_per_million"
            case connectTimeoutMS = "connect_timeout_ms"
            case firstTokenTimeoutMS = "first_token_timeout_ms"
            case totalTimeoutMS = "total_timeout_ms"
            case maxRetries = "max_retries"
            case initialBackoffMS = "initial_backoff_ms"
            case maxBackoffMS = "max_backoff_ms"
            case maxTokens = "max_tokens"
            case fallbackToExtractive = "fallback_to_extractive"
        }

        /// The defaults.
        public init() {}

        /// Decodes the section, refusing unknown keys.
        public init(from decoder: any Decoder) throws {
            try QuarryConfiguration.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = LLM()
            baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
            apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey)
            model = try c.decodeIfPresent(String.self, forKey: .model)
            inputCostPerMillion = try c.decodeIfPresent(Double.self, forKey: .inputCostPerMillion)
            outputCostPerMillion = try c.decodeIfPresent(Double.self, forKey: .outputCostPerMillion)
            fallbacks = try c.decodeIfPresent([Fallback].self, forKey: .fallbacks) ?? d.fallbacks
            connectTimeoutMS = try c.decodeIfPresent(Int.self, forKey: .connectTimeoutMS) ?? d.connectTimeoutMS
            firstTokenTimeoutMS = try c.decodeIfPresent(Int.self, forKey: .firstTokenTimeoutMS) ?? d.firstTokenTimeoutMS
            totalTimeoutMS = try c.decodeIfPresent(Int.self, forKey: .totalTimeoutMS) ?? d.totalTimeoutMS
            maxRetries = try c.decodeIfPresent(Int.self, forKey: .maxRetries) ?? d.maxRetries
            initialBackoffMS = try c.decodeIfPresent(Int.self, forKey: .initialBackoffMS) ?? d.initialBackoffMS
            maxBackoffMS = try c.decodeIfPresent(Int.self, forKey: .maxBackoffMS) ?? d.maxBackoffMS
            maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? d.maxTokens
            temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? d.temperature
            fallbackToExtractive = try c.decodeIfPresent(Bool.self, forKey: .fallbackToExtractive) ?? d.fallbackToExtractive
        }

        /// Whether a primary model is configured.
        public var isConfigured: Bool { baseURL != nil || model != nil }

        /// The chat client's settings; `nil` when no LLM is configured.
        public var settings: ChatSettings? {
            guard let baseURL = baseURL.flatMap(URL.init(string:)), let model else { return nil }
            var models = [
                ChatModel(
                    baseURL: baseURL, apiKey: apiKey, name: model, inputCostPerMillion: inputCostPerMillion,
                    outputCostPerMillion: outputCostPerMillion
                )
            ]
            for fallback in fallbacks {
                models.append(
                    ChatModel(
                        baseURL: fallback.baseURL.flatMap(URL.init(string:)) ?? baseURL, apiKey: fallback.apiKey ?? apiKey,
                        name: fallback.model, inputCostPerMillion: fallback.inputCostPerMillion,
                        outputCostPerMillion: fallback.outputCostPerMillion
                    )
                )
            }
            return ChatSettings(
                models: models, connectTimeout: .milliseconds(connectTimeoutMS), firstTokenTimeout: .milliseconds(firstTokenTimeoutMS),
                totalTimeout: .milliseconds(totalTimeoutMS), maxRetries: maxRetries, initialBackoff: .milliseconds(initialBackoffMS),
                maxBackoff: .milliseconds(maxBackoffMS), maxTokens: maxTokens, temperature: temperature
            )
        }

        /// The problems of these settings, each naming its key.
        func problems() -> [String] {
            guard isConfigured else {
                return fallbacks.isEmpty ? [] : ["llm.fallbacks needs llm.base_url and llm.model"]
            }
            var problems: [String] = []
            func checkURL(_ text: String?, _ key: String) {
                guard let text else { return problems.append("\(key) is required when an LLM is configured") }
                guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                    return problems.append("\(key) must be an http(s) URL, got '\(text)'")
                }
            }
            checkURL(baseURL, "llm.base_url")
            if (model ?? "").isEmpty { problems.append("llm.model is required when an LLM is configured") }
            for (index, fallback) in fallbacks.enumerated() {
                if let url = fallback.baseURL { checkURL(url, "llm.fallbacks[\(index)].base_url") }
                if fallback.model.isEmpty { problems.append("llm.fallbacks[\(index)].model must not be empty") }
            }
            let costs = [inputCostPerMillion, outputCostPerMillion] + fallbacks.flatMap { [$0.inputCostPerMillion, $0.outputCostPerMillion] }
            if costs.contains(where: { ($0 ?? 0) < 0 }) { problems.append("llm costs must not be negative") }
            for (value, key) in [(connectTimeoutMS, "connect_timeout_ms"), (firstTokenTimeoutMS, "first_token_timeout_ms"), (totalTimeoutMS, "total_timeout_ms")]
            where !(1...3_600_000).contains(value) {
                problems.append("llm.\(key) must be 1-3600000, got \(value)")
            }
            if firstTokenTimeoutMS > totalTimeoutMS {
                problems.append("llm.first_token_timeout_ms (\(firstTokenTimeoutMS)) must not exceed llm.total_timeout_ms (\(totalTimeoutMS))")
            }
            if !(0...10).contains(maxRetries) { problems.append("llm.max_retries must be 0-10, got \(maxRetries)") }
            if !(1...600_000).contains(initialBackoffMS) || maxBackoffMS < initialBackoffMS {
                problems.append("llm.initial_backoff_ms must be 1-600000 and llm.max_backoff_ms at least as large")
            }
            if !Retriever.maxTokensRange.contains(maxTokens) {
                problems.append("llm.max_tokens must be \(Retriever.maxTokensRange.lowerBound)-\(Retriever.maxTokensRange.upperBound), got \(maxTokens)")
            }
            if !(0...2).contains(temperature) { problems.append("llm.temperature must be 0-2, got \(temperature)") }
            return problems
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case store, model, backend, postgres, server, search, llm, limits, abstention, guardrails, sessions, routing, prices
        case modelName = "model_name"
        case readOnly = "read_only"
    }

    /// The defaults.
    public init() {}

    /// Decodes a configuration file, refusing unknown keys.
    public init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        store = try c.decodeIfPresent(String.self, forKey: .store) ?? ".quarry"
        model = try c.decodeIfPresent(String.self, forKey: .model)
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName)
        backend = try c.decodeIfPresent(String.self, forKey: .backend) ?? "sqlite"
        readOnly = try c.decodeIfPresent(Bool.self, forKey: .readOnly) ?? false
        postgres = try c.decodeIfPresent(Postgres.self, forKey: .postgres) ?? Postgres()
        server = try c.decodeIfPresent(Server.self, forKey: .server) ?? Server()
        search = try c.decodeIfPresent(Search.self, forKey: .search) ?? Search()
        llm = try c.decodeIfPresent(LLM.self, forKey: .llm) ?? LLM()
        limits = try c.decodeIfPresent(LimitsConfiguration.self, forKey: .limits) ?? LimitsConfiguration()
        abstention = try c.decodeIfPresent(Abstention.self, forKey: .abstention) ?? Abstention()
        guardrails = try c.decodeIfPresent(GuardrailSettings.self, forKey: .guardrails) ?? GuardrailSettings()
        sessions = try c.decodeIfPresent(Sessions.self, forKey: .sessions) ?? Sessions()
        routing = try c.decodeIfPresent(RoutingConfiguration.self, forKey: .routing) ?? RoutingConfiguration()
        prices = try c.decodeIfPresent(PriceTable.self, forKey: .prices) ?? PriceTable()
    }

    static func refuseUnknownKeys(in decoder: any Decoder, known: [String]) throws {
        try UnknownKeys.refuse(in: decoder, known: known)
    }

    /// Reads a configuration file.
    /// - Throws: `QuarryError.invalidRequest` naming the file and what is wrong.
    public static func load(from url: URL) throws -> QuarryConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw QuarryError(.invalidRequest, "cannot read the configuration file \(url.path)", underlying: error)
        }
        do {
            return try JSONDecoder().decode(QuarryConfiguration.self, from: data)
        } catch let error as QuarryError {
            throw QuarryError(.invalidRequest, "\(url.path): \(error.message)")
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw QuarryError(.invalidRequest, "\(url.path): '\(path)' must be of type \(type)")
        } catch {
            throw QuarryError(.invalidRequest, "\(url.path) is not valid JSON")
        }
    }
}
