/// One HTTP header field, as a name and a value: QuarryAccess does not know HTTP types, the
/// HTTP edge copies these into its response.
public struct HeaderField: Sendable, Hashable, CustomStringConvertible {
    /// The field name.
    public var name: String
    /// The field value.
    public var value: String

    /// Creates a field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

/// The `RateLimit-Policy` and `RateLimit` fields of the IETF draft "RateLimit header fields for
/// HTTP" (draft-ietf-httpapi-ratelimit-headers-11, May 2026), and `Retry-After`.
///
/// Both draft fields are Structured Field Lists (RFC 9651) of a quoted policy name with
/// parameters: `RateLimit-Policy: "burst";q=40;w=2` (quota `q` in requests, window `w` in
/// seconds) and `RateLimit: "burst";r=12;t=1` (`r` requests available, `t` the seconds within
/// which no more than `r` can be used). `Retry-After` is whole seconds (RFC 9110), rounded up so
/// a client that obeys it is not refused again for being a fraction early. Per the draft,
/// `Retry-After` is never earlier than the end of `t`: for a denied request both are the wait
/// for the next token.
public enum RateLimitHeaders {
    /// `RateLimit-Policy`.
    public static let policyFieldName = "RateLimit-Policy"
    /// `RateLimit`.
    public static let rateLimitFieldName = "RateLimit"
    /// `Retry-After`.
    public static let retryAfterFieldName = "Retry-After"

    /// The largest integer a Structured Field can carry.
    static let largestInteger = 999_999_999_999_999

    /// The fields for a request the limiter decided on, allowed or not: the policy, what is
    /// left, and `Retry-After` when it was denied and waiting helps.
    public static func fields(for decision: RateLimitDecision) -> [HeaderField] {
        var fields = [policyField([decision.policy]), rateLimitField([decision.serviceLimit])].compactMap { $0 }
        if !decision.isAllowed, let wait = decision.retryAfter { fields.append(retryAfterField(wait)) }
        return fields
    }

    /// The fields for a 429: `RateLimit-Policy` and `RateLimit` when the error carries them,
    /// `Retry-After` when waiting helps.
    public static func fields(for exceeded: LimitExceeded) -> [HeaderField] {
        var fields: [HeaderField] = []
        if let policy = exceeded.policy, let field = policyField([policy]) { fields.append(field) }
        if let serviceLimit = exceeded.serviceLimit, let field = rateLimitField([serviceLimit]) { fields.append(field) }
        if let wait = exceeded.retryAfter { fields.append(retryAfterField(wait)) }
        return fields
    }

    /// `RateLimit-Policy` for `policies`; `nil` for none (the field is a non-empty list).
    public static func policyField(_ policies: [RateLimitPolicy]) -> HeaderField? {
        guard !policies.isEmpty else { return nil }
        let items = policies.map { policy in
            var item = string(policy.name) + ";q=" + integer(policy.quota)
            if let window = policy.windowSeconds { item += ";w=" + integer(max(1, window)) }
            return item
        }
        return HeaderField(name: policyFieldName, value: items.joined(separator: ", "))
    }

    /// `RateLimit` for `limits`; `nil` for none.
    public static func rateLimitField(_ limits: [ServiceLimit]) -> HeaderField? {
        guard !limits.isEmpty else { return nil }
        let items = limits.map { limit in
            var item = string(limit.policy) + ";r=" + integer(limit.remaining)
            if let reset = limit.resetSeconds { item += ";t=" + integer(reset) }
            return item
        }
        return HeaderField(name: rateLimitFieldName, value: items.joined(separator: ", "))
    }

    /// `Retry-After` for a wait of `wait`.
    public static func retryAfterField(_ wait: Duration) -> HeaderField {
        HeaderField(name: retryAfterFieldName, value: String(retryAfterSeconds(wait)))
    }

    /// `wait` in whole seconds for `Retry-After`: rounded up, at least 1 (a 0 would invite an
    /// immediate retry that is refused again).
    public static func retryAfterSeconds(_ wait: Duration) -> Int {
        max(1, wait.wholeSecondsRoundedUp)
    }

    /// A Structured Field String: printable ASCII in quotes, `"` and `\` escaped; other
    /// characters, which a String cannot carry, are left out.
    static func string(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars where (0x20...0x7E).contains(scalar.value) {
            if scalar == "\"" || scalar == "\\" { output += "\\" }
            output.unicodeScalars.append(scalar)
        }
        return output + "\""
    }

    /// A Structured Field Integer, clamped to the range the format allows; the counts here are
    /// never negative.
    static func integer(_ value: Int) -> String {
        String(min(max(0, value), largestInteger))
    }
}
