import Foundation
import QuarryEval
import QuarryRetrieval
import QuarryTestSupport
import Testing

/// The RAGAS-style judge of `quarry eval --qa` against the stub chat API: claims, then verdicts.
@Suite struct LLMJudgeTests {
    @Test func theJudgeScoresSupportedClaimsOverClaims() async throws {
        let stub = ChatStub()
        try await stub.run { baseURL in
            let judge = LLMJudge(client: ChatClient(settings: ChatSettings(models: [ChatModel(baseURL: baseURL, name: "good")])))
            let score = try await judge.faithfulness(
                question: "What does a checkpoint do?", answer: ChatStub.goodAnswer, context: "[1] A checkpoint copies WAL pages back."
            )
            #expect(score.map { abs($0 - 2.0 / 3) < 1e-12 } == true, "\(String(describing: score))")
            let requests = stub.requests
            #expect(requests.count == 2)
            #expect(requests.first?.messages.last?["content"]?.contains(ChatStub.goodAnswer) == true)
            let second = requests.last?.messages.last?["content"] ?? ""
            #expect(second.contains("A checkpoint copies WAL pages back.") && second.contains("3. Checkpoints run hourly."))
        }
    }

    /// `quarry eval --qa --answer llm --config FILE` on the release binary: LLM answers scored by
    /// the deterministic scorer and by the judge, side by side.
    @Test func evalWithAnLLMReportsBothScorers() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("A checkpoint copies the pages of the WAL file back into the database file.", to: "docs/checkpoint.txt")
        try dir.write("With WAL, readers and writers work at the same time.", to: "docs/wal.txt")
        try dir.write(
            #"{"id": "q1", "question": "What does a checkpoint do?", "answers": ["copies the pages of the WAL file back"], "relevant_doc_ids": ["checkpoint.txt"]}"#,
            to: "qa.jsonl"
        )
        let stub = ChatStub()
        try await stub.run { baseURL in
            try #"{"llm": {"base_url": "\#(baseURL.absoluteString)", "model": "good"}}"#
                .write(to: dir.url.appendingPathComponent("quarry.json"), atomically: true, encoding: .utf8)
            let result = try await GracefulShutdownTests.quarry([
                "eval", "--qa", dir.url.appendingPathComponent("qa.jsonl").path, "--dataset", dir.url.appendingPathComponent("docs").path,
                "--store", dir.url.appendingPathComponent("store").path, "--answer", "llm", "--config", dir.url.appendingPathComponent("quarry.json").path,
                "--json", dir.url.appendingPathComponent("qa.json").path,
            ])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let report = try JSONDecoder().decode(EvalReport.self, from: Data(contentsOf: dir.url.appendingPathComponent("qa.json")))
            let qa = try #require(report.qa)
            #expect(qa.answerer == "llm")
            #expect(qa.questions.first?.answer == ChatStub.goodAnswer)
            #expect(qa.questions.first.flatMap(\.judgeFaithfulness).map { abs($0 - 2.0 / 3) < 1e-12 } == true)
            #expect(qa.summary["judge_faithfulness"].map { abs($0 - 2.0 / 3) < 1e-12 } == true)
            #expect(qa.summary["faithfulness"] != nil)
        }
    }
}
