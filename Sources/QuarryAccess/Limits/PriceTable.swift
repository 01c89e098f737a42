import QuarryCore

/// What a model's tokens cost, in US dollars per million; `nil` where the model has no such
/// tokens (a chat model embeds nothing) or the price is not known.
///
/// In the configuration: `{"input_per_million": 0.15, "output_per_million": 0.6}` for a chat
/// model, `{"embedding_per_million": 0.02}` for an embedding model (unknown keys refused).
public struct ModelPrice: Sendable, Hashable, Codable {
    /// Dollars per million prompt tokens.
    public var inputPerMillion: Double?
    /// Dollars per million completion tokens.
    public var outputPerMillion: Double?
    /// Dollars per million tokens embedded.
    public var embeddingPerMillion: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inputPerMillion = "input_per_million"
        case outputPerMillion = "output_per_million"
        case embeddingPerMillion = "embedding_per_million"
    }

    /// Creates a price; with no arguments, one that prices nothing.
    public init(inputPerMillion: Double? = nil, outputPerMillion: Double? = nil, embeddingPerMillion: Double? = nil) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.embeddingPerMillion = embeddingPerMillion
    }

    /// Decodes a price, refusing unknown keys (a misspelt price would otherwise mean "unknown").
    public init(from decoder: any Decoder) throws {
        try UnknownKeys.refuse(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputPerMillion = try c.decodeIfPresent(Double.self, forKey: .inputPerMillion)
        outputPerMillion = try c.decodeIfPresent(Double.self, forKey: .outputPerMillion)
        embeddingPerMillion = try c.decodeIfPresent(Double.self, forKey: .embeddingPerMillion)
    }

    /// What `prompt`, `completion` and `embedding` tokens cost; `nil` when some of them are
    /// used but their price is not set (the cost is then not known, rather than too low).
    public func cost(promptTokens: Int, completionTokens: Int, embeddingTokens: Int) -> Double? {
        var total = 0.0
        for (tokens, price) in [(promptTokens, inputPerMillion), (completionTokens, outputPerMillion), (embeddingTokens, embeddingPerMillion)]
        where tokens != 0 {
            guard let price else { return nil }
            total += Double(tokens) * price / 1_000_000
        }
        return total
    }

    /// Every problem with the price, one line each, each starting with `path`.
    public func problems(at path: String) -> [String] {
        var problems: [String] = []
        let prices: [(CodingKeys, Double?)] = [
            (.inputPerMillion, inputPerMillion), (.outputPerMillion, outputPerMillion), (.embeddingPerMillion, embeddingPerMillion),
        ]
        for (key, value) in prices {
            if let value, !(value.isFinite && value >= 0) {
                problems.append("\(path).\(key.rawValue) must be a number of US dollars of 0 or more, got \(LimitFormat.number(value))")
            }
        }
        if prices.allSatisfy({ $0.1 == nil }) {
            problems.append("\(path) sets no price: give input_per_million and output_per_million, or embedding_per_million")
        }
        return problems
    }
}

/// The prices of the models, by name: what turns the tokens a call used into dollars for the cost
/// budgets, `GET /usage` and the metrics. The top-level `prices` section of the configuration:
///
/// ```json
/// "prices": {"gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6},
///            "text-embedding-3-small": {"embedding_per_million": 0.02}}
/// ```
///
/// A model is looked up by the name its API reported (`gpt-4o-mini-2024-07-18`), then by the name
/// it was configured with (`gpt-4o-mini`). A model in neither has an unknown cost: reported as
/// unknown (`null`), counted as 0 against the cost budgets.
public struct PriceTable: Sendable, Hashable, Codable {
    /// The prices by model name.
    public var models: [String: ModelPrice]

    /// A table of `models`; with no arguments, an empty one (every cost unknown).
    public init(_ models: [String: ModelPrice] = [:]) {
        self.models = models
    }

    /// Decodes the table: an object of model names to prices.
    public init(from decoder: any Decoder) throws {
        models = try decoder.singleValueContainer().decode([String: ModelPrice].self)
    }

    /// Encodes the table as the object it was decoded from.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(models)
    }

    /// Whether the table prices nothing.
    public var isEmpty: Bool { models.isEmpty }

    /// The price of the model the API reported as `model`, else of the one configured as
    /// `configuredModel`; `nil` when the table has neither.
    public func price(of model: String, configuredAs configuredModel: String? = nil) -> ModelPrice? {
        models[model] ?? configuredModel.flatMap { models[$0] }
    }

    /// What a call's tokens cost; `nil` when the model has no price here, or no price for a kind
    /// of token the call used.
    /// - Parameters:
    ///   - model: the model's name as its API reported it.
    ///   - configuredModel: the name it was configured with, tried when `model` has no price.
    public func cost(
        of model: String, configuredAs configuredModel: String? = nil, promptTokens: Int = 0, completionTokens: Int = 0, embeddingTokens: Int = 0
    ) -> Double? {
        price(of: model, configuredAs: configuredModel)?
            .cost(promptTokens: promptTokens, completionTokens: completionTokens, embeddingTokens: embeddingTokens)
    }

    /// Every problem with the table, one line each, each naming its setting
    /// (`prices.gpt-4o-mini.input_per_million`); empty when it can be used.
    /// - Parameter path: where the table sits in the configuration file.
    public func problems(at path: String = "prices") -> [String] {
        var problems: [String] = []
        for name in models.keys.sorted() {
            if name.trimmingWhitespace().isEmpty { problems.append("\(path): a model's price needs the model's name, got '\(name)'") }
            problems += models[name, default: ModelPrice()].problems(at: "\(path).\(name)")
        }
        return problems
    }

    /// Checks the table.
    /// - Throws: `QuarryError(.invalidRequest)` listing every problem.
    public func validate() throws {
        let problems = problems()
        if !problems.isEmpty { throw QuarryError(.invalidRequest, problems.joined(separator: "; ")) }
    }
}
