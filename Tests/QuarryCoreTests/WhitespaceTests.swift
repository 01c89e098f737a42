import QuarryCore
import Testing

/// `trimmingWhitespace` keeps everything between the first and last scalar that is not white
/// space, whatever kind of string it is given, combining marks at the edges included.
@Suite struct WhitespaceTests {
    @Test(arguments: [
        ("  hello world \n", "hello world"),
        ("\u{00A0}\u{2003}text\u{3000}", "text"),
        ("\u{301}abc ", "\u{301}abc"),
        (" \u{301}x\u{301} ", "\u{301}x\u{301}"),
        ("", ""),
        (" \t\n ", ""),
        ("abc", "abc"),
        ("a b\tc", "a b\tc"),
    ])
    func trimsTheEdges(input: String, expected: String) {
        #expect(input.trimmingWhitespace().unicodeScalars.elementsEqual(expected.unicodeScalars))
        // A slice of a longer string (a control character never joins a combining mark).
        let padded = "\u{1}" + input + "\u{1}"
        let slice = padded.dropFirst().dropLast()
        #expect(slice.unicodeScalars.elementsEqual(input.unicodeScalars))
        #expect(slice.trimmingWhitespace().unicodeScalars.elementsEqual(expected.unicodeScalars))
    }
}
