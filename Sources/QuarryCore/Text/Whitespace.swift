extension StringProtocol {
    /// The text without leading and trailing white space (spaces, tabs, newlines).
    public func trimmingWhitespace() -> String {
        let scalars = Substring(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        if first == scalars.startIndex, scalars.index(after: last) == scalars.endIndex { return String(self) }
        // One copy of the kept bytes (appending scalar by scalar cost the sentence splitter
        // more than its own work).
        return String(Substring(scalars[first...last]))
    }
}
