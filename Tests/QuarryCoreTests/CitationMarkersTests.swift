import QuarryCore
import Testing

@Suite struct CitationMarkersTests {
    @Test func numbersInTheirUsualForms() {
        #expect(CitationMarkers.numbers(in: "a [1] b [2, 3] c [4][5] d [Source 6] e [source 7; source 8] f [#9] g [src 10]") == Array(1...10))
        // Brackets that are not markers.
        #expect(CitationMarkers.numbers(in: "an array [a, b], a range [1-3], [12345] and [ ] [1") == [])
        #expect(CitationMarkers.numbers(inMarker: "1, x") == nil)
        #expect(CitationMarkers.marker(for: 12) == "[12]")
    }

    @Test func removingMarkersKeepsOtherBracketsAndTidiesSpaces() {
        #expect(CitationMarkers.removing(from: "See [the docs] and [12] here [1, 2].") == "See [the docs] and here.")
        #expect(CitationMarkers.removing(from: "  a [1] ,\tb [2] [3] ") == "a, b")
        #expect(CitationMarkers.removing(from: "a [1] b [2") == "a b [2")
    }

    @Test func leadingMarkers() {
        #expect(CitationMarkers.leadingMarkers(of: "[2] [3] Next one") == ("[2] [3]", "Next one"))
        #expect(CitationMarkers.leadingMarkers(of: "[2][x] Next") == ("[2]", "[x] Next"))
        #expect(CitationMarkers.leadingMarkers(of: "No marker [1]") == ("", "No marker [1]"))
    }

    @Test func aMarkerBeforeACapitalEndsAPiece() {
        #expect(
            CitationMarkers.splittingAfterMarkers("utc [1] A similar effect [2]. Then [3] more and [x] Not a marker.")
                == ["utc [1]", "A similar effect [2]. Then [3] more and [x] Not a marker."]
        )
        // No space, no split: `[1]A` is not two claims.
        #expect(CitationMarkers.splittingAfterMarkers("a [1]A b") == ["a [1]A b"])
    }

    @Test func blankingDropsMarkersAndTheSpacesBeforeThem() {
        #expect(CitationMarkers.blanking(in: "Pages go back [1]. Next one [2][3] here [Note] too.") == "Pages go back. Next one here [Note] too.")
        #expect(CitationMarkers.blanking(in: "End. [4] Start") == "End. Start")
        #expect(CitationMarkers.blanking(in: "no markers") == "no markers")
        // Read for words and sentences, it gives what `removing(from:)` gives.
        for answer in [
            "Checkpoints copy pages [1]. The WAL grows [2] until then [3].", "A b c. [1] D e f g [2]", "x [1][2], y [3]; z [4]!",
        ] {
            let viaRemoving = SentenceSplitter.split(CitationMarkers.removing(from: answer)).map(WordFolding.words)
            let viaBlanking = SentenceSplitter.split(CitationMarkers.blanking(in: answer)).map(WordFolding.words)
            #expect(viaRemoving == viaBlanking, "\(answer)")
            let tokens = { (text: String) in SentenceSplitter.split(text).map { $0.split(whereSeparator: \.isWhitespace).count } }
            #expect(tokens(CitationMarkers.removing(from: answer)) == tokens(CitationMarkers.blanking(in: answer)), "\(answer)")
        }
    }
}
