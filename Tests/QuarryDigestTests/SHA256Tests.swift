import Foundation
import QuarryDigest
import Testing

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func nistVectors(input: String, digest: String) {
        #expect(SHA256.hex(of: Array(input.utf8)) == digest)
    }

    @Test func streamingEqualsOneShot() throws {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hex(of: million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var hasher = SHA256()
        for size in [1, 63, 64, 65, 1000, 998_807] {
            let start = [1, 63, 64, 65, 1000, 998_807].prefix(while: { $0 != size }).reduce(0, +)
            million[start..<start + size].withUnsafeBytes { hasher.update($0) }
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(digest == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-sha-\(UUID().uuidString)")
        try Data(million).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try SHA256.hex(ofFileAt: file) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
