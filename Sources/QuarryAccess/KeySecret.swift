import QuarryCore
import QuarryDigest

/// The secret of an API key: `qk_<id>_<secret>`, where `id` (16 hex digits) names the key in
/// lists, logs and the audit log, and `secret` is 256 random bits (base64url). Only the SHA-256
/// of the whole token is stored: a token of 256 random bits needs no slow hash, since nothing
/// about it can be guessed faster than the bits themselves.
public struct KeySecret: Sendable {
    /// The key's public id.
    public let id: String
    /// The whole token, shown once when the key is created or rotated.
    public let token: String

    /// A fresh random key (the system's cryptographic generator: `getrandom` on Linux).
    public static func generate() -> KeySecret {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<8).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let id = SHA256.hex(of: idBytes).prefix(16)
        return KeySecret(id: String(id), token: "qk_\(id)_\(Self.base64URL(secretBytes))")
    }

    /// The id named by `token`, when it has the shape of a Quarry key.
    public static func id(of token: String) -> String? {
        let parts = token.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "qk", parts[1].utf8.count == 16, parts[1].utf8.allSatisfy(Self.isHexDigit),
            parts[2].utf8.count == 43
        else { return nil }
        return String(parts[1])
    }

    /// The stored form of `token`: SHA-256, hex.
    public static func hash(_ token: String) -> String {
        var digest = SHA256()
        digest.update(Array(token.utf8))
        return SHA256.hex(of: digest.finalize())
    }

    /// Whether `token` hashes to `storedHash`, compared in time that does not depend on where
    /// the two first differ.
    public static func matches(_ token: String, storedHash: String) -> Bool {
        let computed = Array(hash(token).utf8)
        let stored = Array(storedHash.utf8)
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ stored[index] }
        return difference == 0
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            let characters = chunk.count + 1
            for position in 0..<characters { output.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)]) }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
