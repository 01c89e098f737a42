import QuarryCore

/// One model of an OpenAI-compatible chat API as the configuration names it: a fallback of the
/// `llm` section (`llm.fallbacks`) or a model of the `routing` section. Where an absent
/// `base_url` or `api_key` comes from is up to the section.
public struct ChatModelEntry: Sendable, Equatable, Codable {
    /// Its API's base URL (`…/v1`); absent: the section's default.
    public var baseURL: String?
    /// Its key; absent: the section's default.
    public var apiKey: String?
    /// The model name the service expects (required).
    public var model: String
    /// Price of a million prompt tokens, for usage reports.
    public var inputCostPerMillion: Double?
    /// Price of a million completion tokens.
    public var outputCostPerMillion: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model
        case baseURL = "base_url"
        case apiKey = "api_key"
        case inputCostPerMillion = "input_cost_per_million"
        case outputCostPerMillion = "output_cost_per_million"
    }

    /// Creates a model entry.
    public init(
        baseURL: String? = nil, apiKey: String? = nil, model: String, inputCostPerMillion: Double? = nil, outputCostPerMillion: Double? = nil
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.inputCostPerMillion = inputCostPerMillion
        self.outputCostPerMillion = outputCostPerMillion
    }

    /// Decodes a model, refusing unknown keys; a missing `model` is left empty for the
    /// section's `problems` to name.
    public init(from decoder: any Decoder) throws {
        try UnknownKeys.refuse(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
        apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey)
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ""
        inputCostPerMillion = try c.decodeIfPresent(Double.self, forKey: .inputCostPerMillion)
        outputCostPerMillion = try c.decodeIfPresent(Double.self, forKey: .outputCostPerMillion)
    }
}
