import Foundation
import QuarryCore
import QuarryEmbedding

/// How both store backends write the same things: metadata as JSON, heading paths as one string,
/// the check of a collection's embedding model.
enum StoreFormat {
    /// Between the headings of a chunk's heading path.
    static let headingSeparator = " > "

    /// Metadata as stored: a JSON object of text values (keys sorted), or nothing when empty.
    static func metadataJSON(_ metadata: [String: String]) -> String? {
        guard !metadata.isEmpty, let data = try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys]) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Metadata as read back: the JSON object's text values; empty for no metadata.
    static func decodeMetadata(_ text: String) -> [String: String] {
        guard !text.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else { return [:] }
        return object
    }

    /// Refuses to add vectors of `model` to a collection built with another one, saying how to
    /// re-index.
    static func checkModel(_ existing: CollectionInfo, _ model: EmbeddingModelInfo) throws {
        guard existing.model.name == model.name, existing.model.dimension == model.dimension,
            existing.model.fingerprint == model.fingerprint
        else {
            throw QuarryError(
                .conflict,
                """
                collection '\(existing.name)' was built with \(existing.model.name) \
                (dimension \(existing.model.dimension), weights \(existing.model.fingerprint.prefix(12))) \
                but the configured model is \(model.name) (dimension \(model.dimension), weights \
                \(model.fingerprint.prefix(12))); ingest into another collection with --collection NAME, \
                or re-index: `quarry collections delete \(existing.name)`, then ingest again
                """
            )
        }
    }
}
