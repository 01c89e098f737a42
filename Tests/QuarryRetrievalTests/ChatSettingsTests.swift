import Foundation
import QuarryEmbedding
import QuarryRetrieval
import Testing

@Suite struct ChatSettingsTests {
    @Test func endpointsFollowTheBaseURL() {
        #expect(ChatModel(baseURL: URL(string: "https://api.openai.com/v1")!, name: "m").endpoint.absoluteString == "https://api.openai.com/v1/chat/completions")
        #expect(ChatModel(baseURL: URL(string: "http://127.0.0.1:8000")!, name: "m").endpoint.absoluteString == "http://127.0.0.1:8000/v1/chat/completions")
    }

    @Test func retriesFollowTheSettings() {
        let settings = ChatSettings(models: [], maxRetries: 3, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        #expect(settings.retryPolicy == RetryPolicy(maxRetries: 3, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)))
        #expect(ChatSettings(models: []).retryPolicy == RetryPolicy(maxRetries: 2, initialBackoff: .milliseconds(500), maxBackoff: .seconds(8)))
    }
}
