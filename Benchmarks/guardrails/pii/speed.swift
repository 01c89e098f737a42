// Times PIIDetector.findings(in:) on 2 KB passages. Compiled with the QuarryGuard PII sources by
// speed.sh (swiftc -O), so it measures the release code path without a package target of its own.
import Foundation

@main struct PIISpeed {
    static func main() {
        let filler = "The committee reviewed the quarterly figures in detail and agreed on the next steps for the rollout. "
        let personal = [
            "Contact jane.doe@example.com or call (415) 555-2671. ",
            "Card 4111 1111 1111 1111 was charged; IBAN DE89 3704 0044 0532 0130 00. ",
            "Login from 203.0.113.45, SSN 536-22-1234 on file, version 1.2.3.4, ISBN 978-3-16-148410-0. ",
        ]
        var passages: [String] = []
        for index in 0..<300 {
            var text = ""
            var k = index
            while text.utf8.count < 2048 {
                text += (k % 4 == 0) ? personal[k % personal.count] : filler
                k += 1
            }
            passages.append(String(text.prefix(2048)))
        }
        let plain = String(repeating: filler, count: 21).prefix(2048)
        let detector = PIIDetector()
        var sink = 0
        func time(_ label: String, _ texts: [String], rounds: Int) {
            for text in texts.prefix(20) { sink &+= detector.findings(in: text).count }  // warm-up
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<rounds { for text in texts { sink &+= detector.findings(in: text).count } }
            let nanos = Double(DispatchTime.now().uptimeNanoseconds - start)
            let perPassage = nanos / Double(rounds * texts.count) / 1000
            print("\(label): \(String(format: "%.1f", perPassage)) µs per 2 KB passage")
        }
        time("with personal data", passages, rounds: 20)
        time("prose only", Array(repeating: String(plain), count: 300), rounds: 20)
        if sink == 42 { print("") }
    }
}
