import Foundation
import QuarryRetrieval
import Testing

@Suite struct ChatSettingsTests {
    @Test func endpointsFollowTheBaseURL() {
        #expect(ChatModel(baseURL: URL(string: "https://api.openai.com/v1")!, name: "m").endpoint.absoluteString == "https://api.openai.com/v1/chat/completions")
        #expect(ChatModel(baseURL: URL(string: "http://127.0.0.1:8000")!, name: "m").endpoint.absoluteString == "http://127.0.0.1:8000/v1/chat/completions")
    }
}
