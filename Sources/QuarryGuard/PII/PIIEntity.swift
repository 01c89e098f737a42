/// The kinds of personal data Quarry recognises.
public enum PIIEntity: String, Sendable, Hashable, Codable, CaseIterable {
    case email = "email"
    case phone = "phone"
    case creditCard = "credit_card"
    case iban = "iban"
    case usSSN = "us_ssn"
    case ipAddress = "ip_address"

    /// What replaces a finding of this kind when text is redacted, e.g. `[EMAIL]`.
    public var placeholder: String { "[\(rawValue.uppercased())]" }
}
