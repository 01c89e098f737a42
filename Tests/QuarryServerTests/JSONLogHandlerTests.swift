import Foundation
import Logging
import Synchronization
import Testing

@testable import QuarryServer

@Suite struct JSONLogTests {
    @Test func oneJSONObjectPerLineWithTheMetadata() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "quarry") { label in
            JSONLogHandler(label: label) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "hb.request.id"] = "abc"
        logger.info("query \"done\"\nnext", metadata: ["stages": ["embed", "dense"], "ms": "12.5"])
        logger.debug("not shown at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        #expect(written.first?.hasSuffix("\n") == true && written.first?.dropLast().contains("\n") == false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "query \"done\"\nnext")
        #expect(object["level"] as? String == "info" && object["logger"] as? String == "quarry")
        #expect(object["hb.request.id"] as? String == "abc")
        #expect(object["stages"] as? [String] == ["embed", "dense"] && object["ms"] as? String == "12.5")
        #expect(ISO8601DateFormatter().date(from: (object["ts"] as? String ?? "").replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil)
    }
}
