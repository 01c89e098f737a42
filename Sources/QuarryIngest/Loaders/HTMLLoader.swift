import QuarryCore

/// Turns HTML into blocks: headings (`h1`–`h6`), paragraphs and preformatted text, with scripts,
/// styles, navigation and page chrome dropped and entities decoded.
///
/// The parser is deliberately forgiving: real pages have unclosed tags, stray `<` and broken
/// entities, and every one of them must still give text rather than an error.
public struct HTMLLoader: Sendable {
    /// Elements whose whole content is dropped.
    static let droppedElements: Set<String> = [
        "script", "style", "noscript", "template", "nav", "svg", "iframe", "object", "canvas", "head",
        "footer", "aside", "form", "button", "select", "math",
    ]
    /// Elements that end the current block.
    static let blockElements: Set<String> = [
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "section", "article", "main", "header",
        "table", "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "figure", "figcaption", "br", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "details", "summary", "body", "html",
    ]
    /// Void elements never have content or a closing tag.
    static let voidElements: Set<String> = [
        "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr",
    ]

    /// Creates a loader.
    public init() {}

    /// The page title (`<title>`), if any.
    public func title(of html: String) -> String? {
        var parser = Parser(html)
        return parser.run().title
    }

    /// The `<meta name="…" content="…">` (or `property=`) tags of a page, names lower-cased.
    public func metadata(of html: String) -> [String: String] {
        var parser = Parser(html)
        _ = parser.run()
        return parser.meta
    }

    /// The blocks of an HTML document.
    public func blocks(of html: String) -> [DocumentBlock] {
        var parser = Parser(html)
        return parser.run().blocks
    }

    struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var line = 1
        var blocks: [DocumentBlock] = []
        var title: String?

        var text = String.UnicodeScalarView()
        /// Letters of the current block that sit inside links: menus and tables of contents are
        /// almost all link text, prose almost none (the "link density" of boilerplate removal).
        var linkedLetters = 0
        var letters = 0
        var anchorDepth = 0
        var textStartLine = 1
        var pendingSpace = false
        var kind: DocumentBlock.Kind = .paragraph
        var preDepth = 0
        var dropStack: [String] = []
        var titleText: String.UnicodeScalarView?
        var meta: [String: String] = [:]

        init(_ html: String) {
            scalars = Array(html.unicodeScalars)
        }

        mutating func run() -> (blocks: [DocumentBlock], title: String?) {
            while index < scalars.count {
                let c = scalars[index]
                if c == "<", let tag = parseTag() {
                    handle(tag)
                    continue
                }
                if c == "&" {
                    let decoded = parseEntity()
                    for scalar in decoded.unicodeScalars { emit(scalar) }
                    continue
                }
                advance()
                emit(c)
            }
            flush()
            return (blocks, title.map { String($0).trimmingWhitespace() })
        }

        mutating func advance() {
            if scalars[index] == "\n" { line += 1 }
            index += 1
        }

        mutating func emit(_ c: Unicode.Scalar) {
            if titleText != nil {
                titleText?.append(c)
                return
            }
            guard dropStack.isEmpty else { return }
            if preDepth > 0 {
                if text.isEmpty { textStartLine = line }
                text.append(c == "\r" ? "\n" : c)
                return
            }
            if c.properties.isWhitespace {
                pendingSpace = !text.isEmpty
                return
            }
            if text.isEmpty { textStartLine = line }
            if pendingSpace { text.append(" ") }
            pendingSpace = false
            text.append(c == "\u{00A0}" ? " " : c)
            if c.properties.isAlphabetic {
                letters += 1
                if anchorDepth > 0 { linkedLetters += 1 }
            }
        }

        mutating func flush() {
            let body = String(text).trimmingWhitespace()
            let mostlyLinks = kind == .paragraph && letters > 0 && Double(linkedLetters) > 0.5 * Double(letters)
            text = String.UnicodeScalarView()
            pendingSpace = false
            letters = 0
            linkedLetters = 0
            guard !body.isEmpty, !mostlyLinks else { return }
            blocks.append(DocumentBlock(kind: kind, text: body, lineStart: textStartLine, lineEnd: line))
        }

        struct Tag {
            var name: String
            var closing: Bool
            var selfClosing: Bool
            var attributes: String
        }

        /// Parses a tag, comment or declaration at `index` (which is `<`). Returns `nil`, without
        /// moving, when the `<` does not start a tag (it is then text).
        mutating func parseTag() -> Tag? {
            guard index + 1 < scalars.count else { return nil }
            let next = scalars[index + 1]
            if next == "!" || next == "?" {
                // Comment, doctype, CDATA or processing instruction: skip to its end.
                let terminator: [Unicode.Scalar] = matches("<!--") ? ["-", "-", ">"] : [">"]
                while index < scalars.count, !matchesAt(index, terminator) { advance() }
                for _ in 0..<terminator.count where index < scalars.count { advance() }
                return Tag(name: "!", closing: false, selfClosing: true, attributes: "")
            }
            let closing = next == "/"
            var cursor = index + (closing ? 2 : 1)
            var name = String.UnicodeScalarView()
            while cursor < scalars.count, scalars[cursor].properties.isAlphabetic || ("0"..."9").contains(scalars[cursor]) || scalars[cursor] == "-" {
                name.append(scalars[cursor])
                cursor += 1
            }
            guard !name.isEmpty else { return nil }
            var attributes = String.UnicodeScalarView()
            var quote: Unicode.Scalar?
            while cursor < scalars.count {
                let c = scalars[cursor]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == ">" {
                    break
                }
                attributes.append(c)
                cursor += 1
            }
            // An unterminated tag at the end of the file: treat the rest as dropped markup.
            while index < min(cursor + 1, scalars.count) { advance() }
            let attributeText = String(attributes)
            return Tag(
                name: String(name).lowercased(), closing: closing,
                selfClosing: attributeText.hasSuffix("/"), attributes: attributeText
            )
        }

        func matches(_ literal: String) -> Bool {
            matchesAt(index, Array(literal.unicodeScalars))
        }

        /// `name="value" other='v' bare=x` → names lower-cased, entities in values decoded.
        static func attributes(_ text: String) -> [String: String] {
            var result: [String: String] = [:]
            let scalars = Array(text.unicodeScalars)
            var i = 0
            func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "/" }
            while i < scalars.count {
                while i < scalars.count, isSpace(scalars[i]) { i += 1 }
                var name = String.UnicodeScalarView()
                while i < scalars.count, !isSpace(scalars[i]), scalars[i] != "=" { name.append(scalars[i]); i += 1 }
                while i < scalars.count, scalars[i] == " " { i += 1 }
                var value = String.UnicodeScalarView()
                if i < scalars.count, scalars[i] == "=" {
                    i += 1
                    while i < scalars.count, scalars[i] == " " { i += 1 }
                    if i < scalars.count, scalars[i] == "\"" || scalars[i] == "'" {
                        let quote = scalars[i]
                        i += 1
                        while i < scalars.count, scalars[i] != quote { value.append(scalars[i]); i += 1 }
                        i += 1
                    } else {
                        while i < scalars.count, !isSpace(scalars[i]) { value.append(scalars[i]); i += 1 }
                    }
                }
                if !name.isEmpty {
                    var decoder = Parser(String(value))
                    let decoded = decoder.run().blocks.map(\.text).joined(separator: " ")
                    result[String(name).lowercased()] = decoded
                }
            }
            return result
        }

        func matchesAt(_ position: Int, _ literal: [Unicode.Scalar]) -> Bool {
            guard position + literal.count <= scalars.count else { return false }
            for (offset, scalar) in literal.enumerated() where scalars[position + offset] != scalar { return false }
            return true
        }

        mutating func handle(_ tag: Tag) {
            let name = tag.name
            if name == "!" { return }
            if name == "meta", !tag.closing {
                let attributes = Self.attributes(tag.attributes)
                if let key = attributes["name"] ?? attributes["property"], !key.isEmpty, let content = attributes["content"] {
                    meta[key.lowercased()] = content.trimmingWhitespace()
                }
                return
            }
            if name == "title", titleText == nil, !tag.closing, dropStack.isEmpty || dropStack == ["head"] {
                titleText = String.UnicodeScalarView()
                return
            }
            if name == "title", tag.closing, let collected = titleText {
                if title == nil { title = String(collected).trimmingWhitespace() }
                titleText = nil
                return
            }
            let isNavigation = tag.attributes.lowercased().contains("role=\"navigation\"")
            if Self.isDropped(name) || (isNavigation && !tag.closing) {
                if tag.closing {
                    if let position = dropStack.lastIndex(of: name) { dropStack.removeSubrange(position...) }
                } else if !tag.selfClosing, !HTMLLoader.voidElements.contains(name) {
                    flush()
                    dropStack.append(name)
                }
                return
            }
            if isNavigation, tag.closing { return }
            if !dropStack.isEmpty {
                // A closing tag of the element that opened a navigation region.
                if tag.closing, let position = dropStack.lastIndex(of: name) { dropStack.removeSubrange(position...) }
                return
            }
            if name == "a" {
                anchorDepth = max(0, anchorDepth + (tag.closing ? -1 : 1))
                return
            }
            guard HTMLLoader.blockElements.contains(name) else { return }
            flush()
            if let level = Self.headingLevel(name) {
                kind = tag.closing ? .paragraph : .heading(level: level)
            } else if name == "pre" {
                preDepth = max(0, preDepth + (tag.closing ? -1 : 1))
                kind = preDepth > 0 ? .code : .paragraph
            } else if preDepth == 0 {
                kind = .paragraph
            }
        }

        static func isDropped(_ name: String) -> Bool {
            HTMLLoader.droppedElements.contains(name)
        }

        static func headingLevel(_ name: String) -> Int? {
            guard name.count == 2, name.hasPrefix("h"), let level = Int(name.dropFirst()), (1...6).contains(level) else {
                return nil
            }
            return level
        }

        /// Decodes the entity at `index` (which is `&`); a malformed one stays literal text.
        mutating func parseEntity() -> String {
            var cursor = index + 1
            var name = String.UnicodeScalarView()
            while cursor < scalars.count, cursor - index <= 32, scalars[cursor] != ";",
                scalars[cursor].properties.isAlphabetic || ("0"..."9").contains(scalars[cursor]) || scalars[cursor] == "#"
            {
                name.append(scalars[cursor])
                cursor += 1
            }
            let terminated = cursor < scalars.count && scalars[cursor] == ";"
            let entity = String(name)
            if let decoded = HTMLEntities.decode(entity), terminated || HTMLEntities.legacy.contains(entity) {
                index = terminated ? cursor + 1 : cursor
                return decoded
            }
            advance()
            return "&"
        }
    }
}

/// HTML character references.
enum HTMLEntities {
    /// Entities browsers also accept without the closing `;`.
    static let legacy: Set<String> = ["amp", "lt", "gt", "quot", "nbsp", "copy", "reg"]

    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®",
        "trade": "™", "mdash": "—", "ndash": "–", "hellip": "…", "lsquo": "‘", "rsquo": "’", "ldquo": "“",
        "rdquo": "”", "sbquo": "‚", "bdquo": "„", "laquo": "«", "raquo": "»", "bull": "•", "middot": "·",
        "times": "×", "divide": "÷", "deg": "°", "plusmn": "±", "para": "¶", "sect": "§", "cent": "¢",
        "pound": "£", "euro": "€", "yen": "¥", "micro": "µ", "frac12": "½", "frac14": "¼", "frac34": "¾",
        "le": "≤", "ge": "≥", "ne": "≠", "asymp": "≈", "rarr": "→", "larr": "←", "harr": "↔", "uarr": "↑",
        "darr": "↓", "rArr": "⇒", "lArr": "⇐", "hArr": "⇔", "minus": "−", "infin": "∞", "alpha": "α",
        "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "lambda": "λ", "mu": "μ", "pi": "π",
        "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ", "Omega": "Ω",
        "shy": "", "zwj": "", "zwnj": "", "ensp": " ", "emsp": " ", "thinsp": " ", "dagger": "†",
        "Dagger": "‡", "permil": "‰", "prime": "′", "Prime": "″", "sup2": "²", "sup3": "³", "iexcl": "¡",
        "iquest": "¿", "agrave": "à", "aacute": "á", "acirc": "â", "atilde": "ã", "auml": "ä", "aring": "å",
        "aelig": "æ", "ccedil": "ç", "egrave": "è", "eacute": "é", "ecirc": "ê", "euml": "ë", "igrave": "ì",
        "iacute": "í", "icirc": "î", "iuml": "ï", "ntilde": "ñ", "ograve": "ò", "oacute": "ó", "ocirc": "ô",
        "otilde": "õ", "ouml": "ö", "oslash": "ø", "ugrave": "ù", "uacute": "ú", "ucirc": "û", "uuml": "ü",
        "yacute": "ý", "yuml": "ÿ", "szlig": "ß", "Agrave": "À", "Aacute": "Á", "Acirc": "Â", "Auml": "Ä",
        "Aring": "Å", "Ccedil": "Ç", "Eacute": "É", "Egrave": "È", "Ntilde": "Ñ", "Ouml": "Ö", "Uuml": "Ü",
    ]

    /// The text of an entity name without `&` and `;` (`amp`, `#233`, `#xE9`), or `nil`.
    static func decode(_ entity: String) -> String? {
        if entity.hasPrefix("#") {
            let digits = entity.dropFirst()
            let value: UInt32?
            if digits.first == "x" || digits.first == "X" {
                value = UInt32(digits.dropFirst(), radix: 16)
            } else {
                value = UInt32(digits, radix: 10)
            }
            guard let value else { return nil }
            // Invalid or NUL code points become U+FFFD, as browsers do.
            guard value != 0, let scalar = Unicode.Scalar(value) else { return "\u{FFFD}" }
            return String(Character(scalar))
        }
        return named[entity]
    }
}
