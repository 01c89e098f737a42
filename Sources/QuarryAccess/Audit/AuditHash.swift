import QuarryDigest

/// The link of the audit hash chain: `hash = SHA-256(previousHash || "\n" || record)`, hex.
///
/// Writer and verifier must use this same function; the store takes it as a parameter
/// (`AuditLink`) because it does not depend on the digest itself.
public enum AuditHash {
    /// The hash of a row whose record is `record` and whose predecessor's hash is `previousHash`.
    public static func link(previousHash: String, record: String) -> String {
        var message = Array(previousHash.utf8)
        message.append(UInt8(ascii: "\n"))
        message.append(contentsOf: record.utf8)
        return SHA256.hex(of: message)
    }
}
