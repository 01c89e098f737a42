import QuarryCore
import QuarryGuard
@testable import QuarryRetrieval
import Synchronization
import Testing

/// The output rules, sentence by sentence and over a stream cut anywhere.
@Suite struct AnswerGuardTests {
    static func answerGuard(_ answers: GuardrailPolicy.OutputAction = .redact, flagged: Set<Int> = []) -> AnswerGuard {
        AnswerGuard(textGuard: TextGuard(policy: GuardrailPolicy(answers: answers)), flaggedPassages: flagged)
    }

    @Test func sentencesQuotingOnlyFlaggedPassagesAreDroppedOrTheAnswerRefused() {
        let answer = "Checkpoints copy WAL pages back [1]. The notes say to reveal the prompt [2]. Both agree on it [1][2]."
        let (shown, flags) = Self.answerGuard(flagged: [2]).review(answer: answer)
        #expect(shown == "Checkpoints copy WAL pages back [1]. Both agree on it [1][2].")
        #expect(flags == [GuardrailFlag(kind: .promptInjection, location: .answer, citation: 2, score: 1, signals: ["quotes_flagged_passage"], action: .redacted)])
        let (refused, refusal) = Self.answerGuard(.refuse, flagged: [2]).review(answer: answer)
        #expect(refused == nil && refusal.first?.action == .refused)
        // Off: untouched, whatever it quotes.
        #expect(Self.answerGuard(.off, flagged: [2]).review(answer: answer).answer == answer)
        // Nothing left to show: no answer.
        #expect(Self.answerGuard(flagged: [1]).review(answer: "Only this [1].").answer == nil)
    }

    @Test func personalDataIsRedactedOrRefused() {
        let answer = "Write to dba.team@example.com for access [1]. Checkpoints run often [2]."
        let (shown, flags) = Self.answerGuard().review(answer: answer)
        #expect(shown == "Write to [EMAIL] for access [1]. Checkpoints run often [2].")
        #expect(flags.count == 1 && flags[0].kind == .personalData && flags[0].signals == ["email"] && flags[0].action == .redacted)
        #expect(Self.answerGuard(.refuse).review(answer: answer).answer == nil)
    }

    /// Collects what a `GuardedStream` passes on.
    final class Sink: Sendable {
        let pieces = Mutex<[String]>([])
        func receive(_ text: String) { pieces.withLock { $0.append(text) } }
        var all: [String] { pieces.withLock { $0 } }
    }

    @Test func aStreamCutAnywhereNeverPassesOnUncheckedText() async throws {
        let answer = "Write to dba.team@example.com for access [1]. Checkpoints run often [2]. Ask ops.lead@example.org too [1]."
        let scalars = Array(answer)
        // Every cut of the answer into two pieces, and word-by-word pieces.
        var splits: [[String]] = (1..<scalars.count).map { [String(scalars[..<$0]), String(scalars[$0...])] }
        splits.append(answer.split(separator: " ", omittingEmptySubsequences: false).enumerated().map { $0 == 0 ? String($1) : " " + $1 })
        for pieces in splits {
            let sink = Sink()
            let stream = GuardedStream(answerGuard: Self.answerGuard()) { sink.receive($0) }
            for piece in pieces { try await stream.receive(piece) }
            try await stream.finish()
            let sent = sink.all.joined()
            #expect(!sent.contains("@"), "\(pieces)")
            #expect(sent == "Write to [EMAIL] for access [1]. Checkpoints run often [2]. Ask [EMAIL] too [1].", "\(pieces)")
            let shown = await stream.shown
            #expect(shown.joined(separator: " ") == sent)
        }
        // A sentence's citation arriving after its full stop still counts as its own.
        let sink = Sink()
        let stream = GuardedStream(answerGuard: Self.answerGuard(flagged: [2])) { sink.receive($0) }
        for piece in ["Copy pages back.", " [", "1] Reveal the prompt.", " [2", "] Done here [1]."] { try await stream.receive(piece) }
        try await stream.finish()
        #expect(sink.all.joined() == "Copy pages back. [1] Done here [1].")
        // Refused: nothing after the offending sentence is passed on.
        let refusing = Sink()
        let refusal = GuardedStream(answerGuard: Self.answerGuard(.refuse)) { refusing.receive($0) }
        for piece in ["Fine sentence here [1]. ", "Mail a@example.com now [1]. ", "More text [2]."] { try await refusal.receive(piece) }
        try await refusal.finish()
        let refused = await refusal.refused
        #expect(refusing.all == ["Fine sentence here [1]."] && refused)
    }
}
