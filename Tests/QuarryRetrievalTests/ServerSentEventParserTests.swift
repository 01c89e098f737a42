@testable import QuarryRetrieval
import Testing

@Suite struct ServerSentEventParserTests {
    @Test func serverSentEventsSurviveAnyByteBoundary() {
        let stream = ": keep-alive\r\ndata: {\"a\": 1}\r\n\r\nevent: note\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        for size in [1, 2, 3, 7, bytes.count] {
            var parser = ServerSentEventParser()
            var events: [ServerSentEventParser.Event] = []
            var start = 0
            while start < bytes.count {
                events += parser.feed(bytes[start..<min(start + size, bytes.count)])
                start += size
            }
            #expect(
                events == [
                    .init(name: nil, data: "{\"a\": 1}"), .init(name: "note", data: "line one\nline two"), .init(name: nil, data: "[DONE]"),
                ],
                "pieces of \(size) bytes"
            )
        }
    }
}
