import Foundation

/// The signals read from the raw text rather than its words: chat-template tokens and fake role
/// lines, URLs built to carry data out, and encodings that hide text.
enum InjectionMarkers {
    /// The signals whose markers occur in `text`.
    static func signals(in text: InjectionText) -> Set<InjectionSignal> {
        var found: Set<InjectionSignal> = []
        let bytes = text.lowercasedBytes
        if hasTemplateToken(bytes) || hasRoleLine(bytes) { found.insert(.systemImpersonation) }
        if hasExfiltrationURL(bytes) { found.insert(.exfiltration) }
        if text.zeroWidthCount > 0 || text.mixedScriptWords > 0 || hasEncodedText(text.bytes) || hasLetterSpacing(bytes) {
            found.insert(.obfuscation)
        }
        return found
    }

    /// Chat-template and prompt-format tokens, and fences that pretend the prompt has ended.
    private static let templateTokens: [[UInt8]] = [
        "<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>", "<|eot_id|>",
        "<|start_header_id|>", "<|end_header_id|>", "<<sys>>", "<</sys>>", "[inst]", "[/inst]", "</s>",
        "### instruction", "### system", "### response:", "[system]", "<system>", "</system>", "[system message]",
        "=====end", "end of system prompt", "end of prompt", "\\n\\n", "\\ n \\ n",
    ].map { Array($0.utf8) }

    /// Role labels that open a line: "SYSTEM:", "Assistant:", "Human:".
    private static let roleLabels: [[UInt8]] = ["system:", "system message:", "assistant:", "human:"].map { Array($0.utf8) }

    private static func hasTemplateToken(_ bytes: [UInt8]) -> Bool {
        templateTokens.contains { ByteSearch.contains($0, in: bytes) }
    }

    private static func hasRoleLine(_ bytes: [UInt8]) -> Bool {
        var lineStart = true
        for i in bytes.indices {
            let byte = bytes[i]
            if byte == 0x0A { lineStart = true; continue }
            // Leading blanks and markdown decoration keep the line open.
            if lineStart && (byte == 0x20 || byte == 0x09 || byte == 0x3E || byte == 0x23 || byte == 0x2A || byte == 0x5B) { continue }
            if lineStart {
                for label in roleLabels where hasPrefix(bytes, label, at: i) { return true }
            }
            lineStart = false
        }
        return false
    }

    private static let http = Array("http".utf8)
    private static let percentBrace = Array("%7b".utf8)

    /// Query keys that name what a URL would carry out, on any link.
    private static let leakyKeys: Set<String> = [
        "secret", "secrets", "prompt", "system_prompt", "history", "conversation", "chat", "password", "passwd",
        "exfil", "leak", "stolen", "apikey", "api_key", "creds", "credentials",
    ]
    /// Further keys that make an image URL suspect: an image has no business sending text.
    private static let leakyImageKeys: Set<String> = [
        "data", "d", "q", "msg", "message", "content", "text", "info", "token", "key", "payload", "summary", "user",
    ]

    /// A markdown image whose URL query carries text (a data-looking key, a template placeholder,
    /// or a value of 40 characters or more), or any URL whose query key names a secret: the
    /// shapes that make a client fetch a URL with the conversation in it. Badges and ordinary
    /// links with queries ("?id=12", "?style=flat") pass.
    private static func hasExfiltrationURL(_ bytes: [UInt8]) -> Bool {
        var from = 0
        while let at = ByteSearch.firstIndex(of: http, in: bytes, from: from) {
            from = at + 4
            var end = at
            while end < bytes.count, !isURLTerminator(bytes[end]) { end += 1 }
            guard let query = bytes[at..<end].firstIndex(of: 0x3F) else { continue }
            let isImage = at >= 1 && bytes[at - 1] == 0x28 && isMarkdownImage(bytes, openParen: at - 1)
            for pair in bytes[(query + 1)..<end].split(whereSeparator: { $0 == 0x26 || $0 == 0x3B }) {
                let parts = pair.split(separator: 0x3D, maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(decoding: parts[0], as: UTF8.self)
                let value = parts.count > 1 ? Array(parts[1]) : []
                if leakyKeys.contains(key) { return true }
                guard isImage else { continue }
                let placeholder = value.contains(0x7B) || value.contains(0x24) || ByteSearch.contains(percentBrace, in: value)
                if leakyImageKeys.contains(key) || placeholder || value.count >= 40 { return true }
            }
        }
        return false
    }

    private static func isURLTerminator(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x29 || byte == 0x22 || byte == 0x3C || byte == 0x3E
    }

    /// Whether the `(` at `openParen` closes a `![alt]` image label.
    private static func isMarkdownImage(_ bytes: [UInt8], openParen: Int) -> Bool {
        guard openParen >= 1, bytes[openParen - 1] == 0x5D else { return false }
        var i = openParen - 2
        while i >= 0, openParen - i < 300 {
            if bytes[i] == 0x5B { return i >= 1 && bytes[i - 1] == 0x21 }
            i -= 1
        }
        return false
    }

    /// A base64 run of 16 or more characters that decodes to readable text (printable ASCII with
    /// spaces): an encoded instruction. Keys, digests and certificates decode to binary and pass.
    private static func hasEncodedText(_ bytes: [UInt8]) -> Bool {
        var runStart = 0
        var i = 0
        while i <= bytes.count {
            let byte = i < bytes.count ? bytes[i] : 0
            if isBase64(byte) {
                i += 1
                continue
            }
            if i - runStart >= 16, decodesToText(bytes[runStart..<i]) { return true }
            i += 1
            runStart = i
        }
        return false
    }

    private static func isBase64(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2B || byte == 0x2F
    }

    private static func decodesToText(_ run: ArraySlice<UInt8>) -> Bool {
        // Only runs that mix upper and lower case look like base64 rather than a word or a path.
        guard run.contains(where: { $0 >= 0x41 && $0 <= 0x5A }), run.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) else { return false }
        let encoded = String(decoding: run.prefix(run.count - run.count % 4), as: UTF8.self)
        if encoded.count < 16 { return false }
        guard let decoded = Data(base64Encoded: encoded), decoded.count >= 12 else { return false }
        let readable = decoded.filter { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A }.count
        return decoded.contains(0x20) && readable * 10 >= decoded.count * 9
    }

    /// Words that, found in letter-spaced text once the spaces are closed up, show it was spaced
    /// out to carry a message past a filter rather than to lay out test data ("A B C D x x x").
    private static let spacedWords: [[UInt8]] = [
        "say", "you", "ignore", "forget", "print", "reveal", "prompt", "instruction", "password", "secret", "system",
        "write", "tell", "hate", "kill",
    ].map { Array($0.utf8) }

    /// Eight or more single letters in a row, each followed by one space ("s a y t h a t y o u"),
    /// that spell one of `spacedWords` when joined.
    private static func hasLetterSpacing(_ bytes: [UInt8]) -> Bool {
        var joined: [UInt8] = []
        var i = 0
        while i <= bytes.count {
            if i < bytes.count {
                let byte = bytes[i]
                let isLetter = byte >= 0x61 && byte <= 0x7A
                let isolated = i == 0 || bytes[i - 1] == 0x20
                let spaced = i + 1 == bytes.count || bytes[i + 1] == 0x20
                if isLetter && isolated && spaced {
                    joined.append(byte)
                    i += 2
                    continue
                }
            }
            if !joined.isEmpty {
                if joined.count >= 8 && spacedWords.contains(where: { ByteSearch.contains($0, in: joined) }) { return true }
                joined.removeAll(keepingCapacity: true)
            }
            i += 1
        }
        return joined.count >= 8 && spacedWords.contains(where: { ByteSearch.contains($0, in: joined) })
    }

    private static func hasPrefix(_ bytes: [UInt8], _ needle: [UInt8], at start: Int) -> Bool {
        guard start + needle.count <= bytes.count else { return false }
        for k in needle.indices where bytes[start + k] != needle[k] { return false }
        return true
    }

}
