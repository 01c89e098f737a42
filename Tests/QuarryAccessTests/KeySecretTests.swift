import QuarryAccess
import QuarryCore
import Testing

@Suite struct KeySecretTests {
    @Test func tokensNameTheirKeyAndOnlyTheirHashMatches() {
        let key = KeySecret.generate()
        #expect(key.token.hasPrefix("qk_\(key.id)_"))
        #expect(key.token.utf8.count == 3 + 16 + 1 + 43)
        #expect(KeySecret.id(of: key.token) == key.id)
        let stored = KeySecret.hash(key.token)
        #expect(stored.utf8.count == 64)
        #expect(KeySecret.matches(key.token, storedHash: stored))
        var tampered = Array(key.token.utf8)
        tampered[tampered.count - 1] = tampered.last == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(!KeySecret.matches(String(decoding: tampered, as: UTF8.self), storedHash: stored))
        #expect(!KeySecret.matches(key.token, storedHash: String(stored.dropLast())))
    }

    @Test func everyKeyIsNew() {
        let keys = (0..<1000).map { _ in KeySecret.generate() }
        #expect(Set(keys.map(\.id)).count == 1000)
        #expect(Set(keys.map(\.token)).count == 1000)
    }

    @Test func tokensOfAnotherShapeNameNoKey() {
        for token in ["", "qk_", "qk_0123456789abcdef_short", "sk-0123456789abcdef", "qk_0123456789ABCDEF_" + String(repeating: "a", count: 43),
            "qk_0123456789abcde_" + String(repeating: "a", count: 44)]
        {
            #expect(KeySecret.id(of: token) == nil, "\(token)")
        }
    }
}

@Suite struct RoleTests {
    @Test func eachRoleIncludesTheOneBefore() {
        #expect(Role.reader.allows(.read) && Role.reader.allows(.readDocuments))
        #expect(!Role.reader.allows(.write) && !Role.reader.allows(.administer))
        #expect(Role.writer.allows(.write) && !Role.writer.allows(.administer))
        #expect(Role.admin.allows(.administer) && !Role.admin.allows(.operate))
        #expect(Action.allCases.allSatisfy { Role.operator.allows($0) })
    }

    @Test func aKeyLimitedToCollectionsSeesNoOthers() throws {
        let principal = Principal(tenant: "acme", keyID: "k", role: .reader, collections: ["docs"])
        try principal.require(collection: "docs")
        #expect(throws: QuarryError.self) { try principal.require(collection: "hr") }
        #expect(throws: QuarryError.self) { try principal.require(.write) }
    }
}
