import Foundation
import QuarryAccess
import QuarryCore
import Testing

@Suite struct PriceTableTests {
    func decode(_ json: String) throws -> PriceTable {
        try JSONDecoder().decode(PriceTable.self, from: Data(json.utf8))
    }

    let example = """
        {"gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6},
         "text-embedding-3-small": {"embedding_per_million": 0.02},
         "llama3": {"input_per_million": 0, "output_per_million": 0}}
        """

    @Test func pricesDecodeByModelName() throws {
        let table = try decode(example)
        #expect(table == PriceTable([
            "gpt-4o-mini": ModelPrice(inputPerMillion: 0.15, outputPerMillion: 0.6),
            "text-embedding-3-small": ModelPrice(embeddingPerMillion: 0.02),
            "llama3": ModelPrice(inputPerMillion: 0, outputPerMillion: 0),
        ]))
        #expect(table.problems().isEmpty)
        try table.validate()
        #expect(try decode(String(decoding: try JSONEncoder().encode(table), as: UTF8.self)) == table)
        #expect(try decode("{}").isEmpty)
    }

    @Test func callsArePricedByTheReportedNameThenTheConfiguredOne() throws {
        let table = try decode(example)
        #expect(table.cost(of: "gpt-4o-mini", promptTokens: 2_000_000, completionTokens: 1_000_000) == 0.3 + 0.6)
        // The API reports a dated name; the configured one is found.
        #expect(table.cost(of: "gpt-4o-mini-2024-07-18", configuredAs: "gpt-4o-mini", promptTokens: 1_000_000) == 0.15)
        #expect(table.price(of: "gpt-4o-mini-2024-07-18") == nil)
        // The reported name wins when both are priced.
        let both = PriceTable(["a": ModelPrice(inputPerMillion: 1), "b": ModelPrice(inputPerMillion: 2)])
        #expect(both.cost(of: "a", configuredAs: "b", promptTokens: 1_000_000) == 1)
        #expect(table.cost(of: "text-embedding-3-small", embeddingTokens: 500_000) == 0.01)
        #expect(table.cost(of: "llama3", promptTokens: 123, completionTokens: 45) == 0)
        // Unknown model: unknown cost, not 0.
        #expect(table.cost(of: "claude", configuredAs: "claude-x", promptTokens: 10) == nil)
        // A kind of token the model has no price for makes the cost unknown too; unused kinds do not.
        #expect(table.cost(of: "text-embedding-3-small", promptTokens: 10) == nil)
        #expect(table.cost(of: "gpt-4o-mini", promptTokens: 10, embeddingTokens: 1) == nil)
        #expect(table.cost(of: "gpt-4o-mini") == 0)
        #expect(ModelPrice(inputPerMillion: 3, outputPerMillion: 15).cost(promptTokens: 1000, completionTokens: 100, embeddingTokens: 0) == 0.003 + 0.0015)
    }

    @Test func unknownKeysAreRefused() {
        for (json, setting) in [
            (#"{"gpt-4o-mini": {"input_per_milion": 0.15}}"#, "gpt-4o-mini.input_per_milion"),
            (#"{"gpt-4o-mini": {"input_per_million": 0.15, "currency": "EUR"}}"#, "gpt-4o-mini.currency"),
        ] {
            do {
                _ = try decode(json)
                Issue.record("\(json) was accepted")
            } catch let error as QuarryError {
                #expect(error.code == .invalidRequest)
                #expect(error.message.hasPrefix("unknown setting '\(setting)' (known here: embedding_per_million, input_per_million, output_per_million)"), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(throws: (any Error).self) { try decode(#"{"gpt-4o-mini": 0.15}"#) }
        #expect(throws: (any Error).self) { try decode(#"[]"#) }
    }

    @Test func everyBadPriceIsNamed() {
        let table = PriceTable([
            "a": ModelPrice(inputPerMillion: -0.15, outputPerMillion: .nan),
            "b": ModelPrice(embeddingPerMillion: .infinity),
            "c": ModelPrice(),
            " ": ModelPrice(inputPerMillion: 1),
            "free": ModelPrice(inputPerMillion: 0, outputPerMillion: 0, embeddingPerMillion: 0),
        ])
        #expect(table.problems() == [
            "prices: a model's price needs the model's name, got ' '",
            "prices.a.input_per_million must be a number of US dollars of 0 or more, got -0.15",
            "prices.a.output_per_million must be a number of US dollars of 0 or more, got nan",
            "prices.b.embedding_per_million must be a number of US dollars of 0 or more, got inf",
            "prices.c sets no price: give input_per_million and output_per_million, or embedding_per_million",
        ])
        do {
            try table.validate()
            Issue.record("validated")
        } catch let error as QuarryError {
            #expect(error.code == .invalidRequest)
            #expect(error.message.hasPrefix("prices: a model's price needs the model's name"))
            #expect(error.message.hasSuffix("give input_per_million and output_per_million, or embedding_per_million"))
        } catch {
            Issue.record("\(error)")
        }
        #expect(PriceTable(["x": ModelPrice(outputPerMillion: -1)]).problems(at: "server.prices") == [
            "server.prices.x.output_per_million must be a number of US dollars of 0 or more, got -1"
        ])
    }
}
