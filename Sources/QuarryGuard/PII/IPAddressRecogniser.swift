/// IP addresses. IPv4: four decimal octets 0–255 (no leading zeros), not part of a longer
/// dotted number, optionally with a `/0…32` prefix length. IPv6: hexadecimal groups in full
/// (eight groups) or `::`-compressed form, optionally ending in a dotted IPv4 address, validated
/// group by group. Four-part version numbers are the usual false positive: after a version word
/// ("version", "v", "build", …) a dotted quad is dropped, and one of four single digits
/// ("1.2.3.4") needs an address word before it.
struct IPAddressRecogniser: PIIRecogniser {
    let entity = PIIEntity.ipAddress

    static let context = ContextWords(["ip", "ips", "ipv4", "ipv6", "address", "addr", "host", "hosts", "server",
                                       "client", "gateway", "dns", "subnet", "route", "ping", "inet", "from", "src",
                                       "dst", "source", "destination", "proxy", "firewall", "connect", "connected", "peer", "loopback"])
    static let versionWords = ContextWords(["version", "versions", "v", "ver", "release", "build", "firmware",
                                            "update", "upgrade", "patch", "oid", "section", "chapter", "rule"], window: 2)

    func mayMatch(_ text: ScannedText) -> Bool { text.digitCount >= 2 || text.hasColon }

    func scan(_ text: ScannedText) -> [PIIFinding] {
        var results: [PIIFinding] = []
        var i = 0
        while i < text.count {
            if let (end, score) = ipv6(text, at: i) ?? ipv4(text, at: i) {
                results.append(text.finding(.ipAddress, i, end, score: score))
                i = end
            } else {
                i += 1
            }
        }
        return results
    }

    // MARK: IPv4

    private func ipv4(_ text: ScannedText, at start: Int) -> (Int, Double)? {
        guard text.isDigit(start), !text.isWordCharacter(start - 1),
              !(text[start - 1] == 0x2E && text.isDigit(start - 2)) else { return nil }
        guard let (end, octets) = Self.readIPv4(text, from: start) else { return nil }
        // Part of a longer dotted number ("1.3.6.1.4.1", "10.0.0.1.5").
        if text[end] == 0x2E && text.isDigit(end + 1) { return nil }
        if text.isWordCharacter(end) { return nil }
        let finalEnd = Self.prefixLength(text, at: end, maximum: 32) ?? end
        if Self.versionWords.occur(in: text, before: start) { return nil }
        let hasContext = Self.context.occur(in: text, before: start)
        if hasContext { return (finalEnd, 0.95) }
        return (finalEnd, octets.allSatisfy { $0 < 10 } ? 0.4 : 0.6)
    }

    /// Reads a dotted quad at `start`; returns its end and octets.
    static func readIPv4(_ text: ScannedText, from start: Int) -> (Int, [Int])? {
        var octets: [Int] = []
        var i = start
        while octets.count < 4 {
            let end = text.endOfDigits(from: i)
            guard end > i, end - i <= 3, end - i == 1 || text[i] != 0x30 else { return nil }
            let value = text.digits(i, end).reduce(0) { $0 * 10 + Int($1) }
            guard value <= 255 else { return nil }
            octets.append(value)
            i = end
            if octets.count < 4 {
                guard text[i] == 0x2E else { return nil }
                i += 1
            }
        }
        return (i, octets)
    }

    /// The end of a `/n` prefix length (n ≤ `maximum`) at `index`, if there is one.
    private static func prefixLength(_ text: ScannedText, at index: Int, maximum: Int) -> Int? {
        guard text[index] == 0x2F, text.isDigit(index + 1) else { return nil }
        let end = text.endOfDigits(from: index + 1)
        guard end - index - 1 <= 3, !text.isWordCharacter(end) else { return nil }
        let value = text.digits(index + 1, end).reduce(0) { $0 * 10 + Int($1) }
        return value <= maximum ? end : nil
    }

    // MARK: IPv6

    private func ipv6(_ text: ScannedText, at start: Int) -> (Int, Double)? {
        let first = text[start]
        guard text.hasColon, Scalar.isHexDigit(first) || (first == 0x3A && text[start + 1] == 0x3A),
              !text.isWordCharacter(start - 1), text[start - 1] != 0x3A, text[start - 1] != 0x2E else { return nil }
        // The longest run of hex digits, colons and dots, then shortened until it parses.
        var end = start
        while end < text.count, end - start < 50,
              Scalar.isHexDigit(text[end]) || text[end] == 0x3A || text[end] == 0x2E { end += 1 }
        if text.isWordCharacter(end) { return nil }
        guard (start..<end).lazy.filter({ text[$0] == 0x3A }).count >= 2 else { return nil }
        while end > start {
            if let groups = Self.parseIPv6(text, start, end) {
                let finalEnd = Self.prefixLength(text, at: end, maximum: 128) ?? end
                let compressed = (start..<(end - 1)).contains { text[$0] == 0x3A && text[$0 + 1] == 0x3A }
                var score = !compressed ? 0.85 : (groups >= 3 ? 0.7 : 0.35)
                if Self.context.occur(in: text, before: start) { score = max(score, 0.95) }
                return (finalEnd, score)
            }
            // Trailing prose punctuation ("…fe80::1.", "…::1:") is not part of the address.
            guard text[end - 1] == 0x2E || text[end - 1] == 0x3A else { return nil }
            end -= 1
        }
        return nil
    }

    /// The number of 16-bit groups written in `start..<end` if it is a valid IPv6 address.
    static func parseIPv6(_ text: ScannedText, _ start: Int, _ end: Int) -> Int? {
        let string = text.string(start, end)
        let gaps = string.ranges(of: "::")
        guard gaps.count <= 1 else { return nil }
        let halves = gaps.first.map { [string[..<$0.lowerBound], string[$0.upperBound...]] } ?? [string[...]]
        var written = 0
        for (index, half) in halves.enumerated() where !half.isEmpty {
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (position, part) in parts.enumerated() {
                let isLastOverall = index == halves.count - 1 && position == parts.count - 1
                if isLastOverall, part.contains(".") {
                    let embedded = ScannedText(String(part))
                    guard let (end, _) = readIPv4(embedded, from: 0), end == embedded.count else { return nil }
                    written += 2
                } else {
                    guard (1...4).contains(part.count), part.unicodeScalars.allSatisfy({ Scalar.isHexDigit($0.value) }) else { return nil }
                    written += 1
                }
            }
        }
        if halves.count == 2 { return written <= 7 && written >= 1 ? written : nil }
        return written == 8 ? written : nil
    }
}
