import ArgumentParser
import Foundation
import QuarryEmbedding
import QuarryEval
import QuarryRetrieval
import QuarryConfig
import QuarryStore

extension Eval {
    func evaluateAnswers(
        qaFile: URL, folder: URL, store: any ChunkStore, storeDescription: String, embedder: MiniLMEmbedder, collection: String
    ) async throws -> QAEvaluation {
        let items = try QAItem.load(from: qaFile)
        try await ingest(
            folder, include: include, exclude: exclude, store: store, storeDescription: storeDescription, embedder: embedder,
            collection: collection
        )
        var llm: LLMAnswerer?
        var judge: LLMJudge?
        if let config {
            var configuration = try QuarryConfiguration.load(from: URL(fileURLWithPath: config))
            try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
            if let settings = configuration.llm.settings {
                llm = LLMAnswerer(client: ChatClient(settings: settings), fallbackToExtractive: false)
                judge = LLMJudge(client: ChatClient(settings: settings))
            }
        }
        if answer == .llm, llm == nil {
            throw ValidationError("--answer llm needs --config FILE with an llm section (base_url, model)")
        }
        let retriever = Retriever(store: store, embedder: embedder, llm: llm)
        let scorer = FaithfulnessScorer(embedder: embedder)
        var questions: [QAQuestionEvaluation] = []
        for item in items {
            let result = try await retriever.answer(query: item.question, collection: collection, topK: 5, answer: answer)
            var scored = try await scorer.score(item: item, result: result)
            if let judge, !scored.abstained {
                do {
                    scored.judgeFaithfulness = try await judge.faithfulness(question: item.question, result: result)
                } catch {
                    printError("eval: the LLM judge did not answer for \(item.id): \(error)")
                }
            }
            questions.append(scored)
        }
        let summary = FaithfulnessScorer.summarize(questions)
        print("question  faithfulness  citation precision  context recall  answer F1  abstained")
        for question in questions {
            print(
                String(
                    format: "%-9@ %12.2f  %18.2f  %14.2f  %9.2f  %@", question.id as NSString, question.faithfulness,
                    question.citationPrecision, question.contextRecall, question.answerF1, (question.abstained ? "yes" : "no") as NSString
                )
            )
        }
        for key in summary.keys.sorted() { print(String(format: "%-20@ %.3f", key as NSString, summary[key]!)) }
        return QAEvaluation(answerer: answer.rawValue, summary: summary, thresholds: scorer.thresholds.values, questions: questions)
    }

}
