@testable import QuarryRetrieval
import Testing

/// The first piece of text and the first-token deadline: exactly one of them wins.
@Suite struct FirstTokenGateTests {
    @Test func textBeforeTheDeadlineIsDeliveredAndTheDeadlineIsVoid() {
        let gate = FirstTokenGate()
        #expect(gate.arrive())
        #expect(gate.arrive())
        #expect(!gate.expire())
        #expect(gate.arrive())
    }

    @Test func textAfterTheDeadlineIsDropped() {
        let gate = FirstTokenGate()
        #expect(gate.expire())
        #expect(gate.expire())
        #expect(!gate.arrive())
    }

    @Test func racingSidesNeverBothWin() async {
        for _ in 0..<200 {
            let gate = FirstTokenGate()
            async let delivered = Task.detached { gate.arrive() }.value
            async let timedOut = Task.detached { gate.expire() }.value
            let (d, t) = await (delivered, timedOut)
            #expect(d != t)
        }
    }
}
