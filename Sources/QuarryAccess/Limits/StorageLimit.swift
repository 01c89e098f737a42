import QuarryCore

/// A tenant's storage limit: the chunks it may keep over all its collections.
public enum StorageLimit {
    /// Checks, before a write, that `tenant` stays within its chunks.
    ///
    /// Pass the write's net growth: chunks it adds minus chunks it replaces or removes. A write
    /// that does not grow the tenant (a re-ingest of the same size, a delete) always passes, even
    /// for a tenant already over a limit that was lowered.
    /// - Parameters:
    ///   - tenant: the tenant, for the message.
    ///   - currentChunks: the chunks it stores now.
    ///   - newChunks: the write's net growth.
    ///   - limit: its `EffectiveLimits.maxChunks`; `nil` for no limit.
    /// - Throws: `QuarryError(.rateLimited)` carrying a `LimitExceeded` (`max_chunks`, no
    ///   `retryAfter`: only deleting documents or a larger tier helps).
    public static func check(tenant: String, currentChunks: Int, newChunks: Int, limit: Int?) throws {
        guard let limit, newChunks > 0 else { return }
        let (total, overflow) = max(0, currentChunks).addingReportingOverflow(newChunks)
        guard overflow || total > limit else { return }
        let after = overflow ? "more than \(Int.max)" : String(total)
        throw LimitExceeded(
            limit: .maxChunks,
            message: "tenant '\(tenant)' may store \(limit) chunks; it stores \(currentChunks) and this would add \(newChunks) "
                + "(\(after) in all). Delete documents or collections, or move the tenant to a larger tier"
        ).error
    }
}
