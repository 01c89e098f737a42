import QuarryGuard
import Testing

@Suite struct PIIEntityTests {
    @Test func placeholdersNameTheEntity() {
        #expect(PIIEntity.creditCard.placeholder == "[CREDIT_CARD]")
        #expect(Set(PIIEntity.allCases.map(\.placeholder)).count == PIIEntity.allCases.count)
    }
}
