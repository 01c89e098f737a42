/// The check-digit algorithms that turn a pattern match into a validated one.
enum Checksums {
    /// Whether `digits` (0…9 each) pass the Luhn (mod 10) check used by payment cards.
    static func luhnIsValid(_ digits: [UInt8]) -> Bool {
        guard !digits.isEmpty else { return false }
        var sum = 0
        for (position, digit) in digits.reversed().enumerated() {
            var value = Int(digit)
            if position % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return sum % 10 == 0
    }

    /// Whether the IBAN in `characters` (upper-case ASCII letters and digits, no spaces) passes
    /// ISO 13616's check: with the first four characters moved to the end and every letter
    /// replaced by 10…35, the number modulo 97 is 1.
    static func ibanIsValid(_ characters: [UInt32]) -> Bool {
        guard characters.count >= 5 else { return false }
        var remainder = 0
        for value in characters[4...] + characters[..<4] {
            if Scalar.isDigit(value) {
                remainder = (remainder * 10 + Int(value - 0x30)) % 97
            } else if Scalar.isUpper(value) {
                remainder = (remainder * 100 + Int(value - 0x41 + 10)) % 97
            } else {
                return false
            }
        }
        return remainder == 1
    }
}
