import Foundation

/// The hash chain of the audit log: constants, and the walk that checks it.
public enum AuditChain {
    /// The `previousHash` of the first row ever written: 64 zeros.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// `date` in whole milliseconds since 1970, the precision records carry their time in.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

/// What the verifier reads out of a record's content: the columns it must agree with, and, for
/// the record of a prune, what the prune removed.
public struct AuditRecordFacts: Sendable, Hashable {
    /// The time inside the record.
    public var at: Date
    /// The tenant inside the record.
    public var tenant: String?
    /// For a prune's record: the last sequence number it removed.
    public var prunedThrough: Int64?
    /// For a prune's record: the hash of that row.
    public var anchorHash: String?

    /// Creates the facts of a record.
    public init(at: Date, tenant: String?, prunedThrough: Int64? = nil, anchorHash: String? = nil) {
        self.at = at
        self.tenant = tenant
        self.prunedThrough = prunedThrough
        self.anchorHash = anchorHash
    }
}

/// A place where the chain does not hold.
public struct AuditBreak: Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: String, Sendable {
        /// The row's hash does not match its content, or its content does not match its columns:
        /// the row was changed after it was written.
        case edited
        /// Rows are missing: a gap in the sequence numbers, rows gone from the start that no
        /// prune record accounts for, or rows gone from the end that a checkpoint says existed.
        case missing
        /// The row's `previousHash` is not the hash of the row before it: the row before was
        /// changed and given a new hash, or this row was moved.
        case relinked
    }

    /// The sequence number where the break is (for missing rows, the first one missing).
    public var seq: Int64
    /// What is wrong.
    public var kind: Kind
    /// What was found, for a person.
    public var message: String

    /// Creates a break.
    public init(seq: Int64, kind: Kind, message: String) {
        self.seq = seq
        self.kind = kind
        self.message = message
    }

    public var description: String { "seq \(seq): \(kind.rawValue): \(message)" }
}

/// A row's sequence number and a hash: the last row of a verification (a checkpoint to keep
/// outside the store), or the first row with the hash it follows.
public struct AuditChainPoint: Sendable, Hashable, CustomStringConvertible {
    /// The sequence number.
    public var seq: Int64
    /// The hash.
    public var hash: String

    /// Creates a point.
    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// Reads `SEQ:HASH`, the form `description` writes.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = Int64(parts[0]), seq > 0, parts[1].utf8.count == 64 else { return nil }
        self.init(seq: seq, hash: String(parts[1]))
    }

    public var description: String { "\(seq):\(hash)" }
}

/// The outcome of walking the chain.
public struct AuditVerification: Sendable, Hashable {
    /// How many rows were checked.
    public var rowsChecked = 0
    /// The first row's sequence number and its `previousHash`: the genesis hash, or the anchor a
    /// prune left.
    public var start: AuditChainPoint?
    /// The last row's sequence number and hash: the checkpoint to keep outside the store for the
    /// next verification.
    public var last: AuditChainPoint?
    /// The last sequence number the latest prune removed, when the log was pruned.
    public var prunedThrough: Int64?
    /// Whether a checkpoint given to the verifier could be compared with the chain (it cannot
    /// when its row was pruned and was not the one the latest prune anchored to).
    public var checkpointChecked = false
    /// Every break found, in sequence order; empty when the chain holds.
    public var breaks: [AuditBreak] = []

    /// The first break, if any.
    public var firstBreak: AuditBreak? { breaks.first }
    /// Whether the chain holds.
    public var isIntact: Bool { breaks.isEmpty }
}

/// Walks audit rows in sequence order, one page at a time, and finds where the chain breaks: a
/// row whose hash does not match its content (edited), a `previousHash` that is not the hash of
/// the row before (relinked), a gap in the sequence numbers (deleted).
///
/// After a prune the first remaining row's `previousHash` is trusted as the anchor, but only
/// when the latest prune's own record (further down the chain) names exactly that row and hash;
/// rows missing from the start with no such record are reported as deleted. A checkpoint kept
/// outside the store (the last sequence number and hash of an earlier verification) also catches
/// rows deleted from the end and a chain rewritten from some row on.
public struct AuditChainVerifier: Sendable {
    private let link: AuditLink
    private let facts: @Sendable (String) -> AuditRecordFacts?
    private let checkpoint: AuditChainPoint?
    private var result = AuditVerification()
    private var latestPrune: (recordSeq: Int64, through: Int64, anchorHash: String)?
    /// Breaks beyond this many are not kept (the first ones say what happened).
    private let breakLimit = 1000

    /// Creates a verifier.
    /// - Parameters:
    ///   - link: the chain function the rows were written with.
    ///   - facts: reads a record's time, tenant and prune details; `nil` for an unreadable record.
    ///   - checkpoint: the last row of an earlier verification, kept outside the store, if any.
    public init(
        link: @escaping AuditLink, facts: @escaping @Sendable (String) -> AuditRecordFacts?, checkpoint: AuditChainPoint? = nil
    ) {
        self.link = link
        self.facts = facts
        self.checkpoint = checkpoint
    }

    /// Checks the next row (rows must come in ascending sequence order, as `auditRows` returns
    /// them).
    public mutating func check(_ row: AuditRow) {
        result.rowsChecked += 1
        if let previous = result.last {
            let previousSeq = previous.seq
            if row.seq != previousSeq + 1 {
                let missing = row.seq - 1 > previousSeq + 1 ? "rows \(previousSeq + 1)…\(row.seq - 1) are" : "row \(previousSeq + 1) is"
                report(previousSeq + 1, .missing, "\(missing) missing: deleted without a prune")
            } else if row.previousHash != previous.hash {
                report(
                    row.seq, .relinked,
                    "previous_hash does not match the hash of row \(previousSeq): that row was changed and rehashed, or this one moved"
                )
            }
        } else {
            result.start = AuditChainPoint(seq: row.seq, hash: row.previousHash)
        }
        checkContent(of: row)
        if let checkpoint, checkpoint.seq == row.seq {
            result.checkpointChecked = true
            if checkpoint.hash != row.hash {
                report(
                    row.seq, .edited,
                    "the hash differs from the checkpoint kept outside the store: the chain was rewritten from here or before"
                )
            }
        }
        result.last = AuditChainPoint(seq: row.seq, hash: row.hash)
    }

    /// Finishes the walk: checks how the chain starts (from the first row ever written, or from a
    /// prune's anchor) and the checkpoint kept outside, if any.
    /// - Returns: what was found.
    public func finish() -> AuditVerification {
        var verifier = self
        verifier.checkStart()
        verifier.checkEnd()
        verifier.result.breaks.sort { ($0.seq, $0.kind.rawValue) < ($1.seq, $1.kind.rawValue) }
        verifier.result.prunedThrough = latestPrune?.through
        return verifier.result
    }

    private mutating func checkContent(of row: AuditRow) {
        guard link(row.previousHash, row.record) == row.hash else {
            report(row.seq, .edited, "the hash does not match the record: the record or its hash was changed")
            return
        }
        guard let facts = facts(row.record) else {
            report(row.seq, .edited, "the record is not a readable audit record")
            return
        }
        if AuditChain.milliseconds(facts.at) != AuditChain.milliseconds(row.at) {
            report(row.seq, .edited, "the at column does not match the time in the record")
        }
        if facts.tenant != row.tenant {
            report(row.seq, .edited, "the tenant column '\(row.tenant ?? "")' does not match the record's '\(facts.tenant ?? "")'")
        }
        if let through = facts.prunedThrough, let anchorHash = facts.anchorHash, through >= latestPrune?.through ?? .min {
            latestPrune = (row.seq, through, anchorHash)
        }
    }

    private mutating func checkStart() {
        guard let start = result.start else { return }
        let firstSeq = start.seq
        let firstPrevious = start.hash
        guard let prune = latestPrune else {
            if firstSeq != 1 {
                let missing = firstSeq - 1 > 1 ? "rows 1…\(firstSeq - 1) are" : "row 1 is"
                report(firstSeq - 1, .missing, "\(missing) missing and no prune record accounts for them")
            } else if firstPrevious != AuditChain.genesisHash {
                report(1, .relinked, "the first row's previous_hash is not the genesis hash")
            }
            return
        }
        if prune.through < firstSeq - 1 {
            report(
                firstSeq - 1, .missing,
                "rows \(prune.through + 1)…\(firstSeq - 1) are missing: the latest prune (seq \(prune.recordSeq)) removed only "
                    + "through \(prune.through)"
            )
        } else if prune.through >= firstSeq {
            report(
                prune.recordSeq, .edited, "the prune record says rows through \(prune.through) were removed, but row \(firstSeq) is present"
            )
        } else if prune.anchorHash != firstPrevious {
            report(firstSeq, .relinked, "the first row's previous_hash is not the anchor hash the prune at seq \(prune.recordSeq) recorded")
        }
    }

    private mutating func checkEnd() {
        guard let checkpoint, !result.checkpointChecked else { return }
        if let last = result.last, checkpoint.seq > last.seq {
            report(
                last.seq + 1, .missing,
                "the checkpoint names row \(checkpoint.seq), but the log ends at \(last.seq): rows were deleted from the end"
            )
        } else if result.last == nil {
            report(1, .missing, "the checkpoint names row \(checkpoint.seq), but the log is empty")
        } else if let prune = latestPrune, prune.through == checkpoint.seq {
            result.checkpointChecked = true
            if prune.anchorHash != checkpoint.hash {
                report(prune.recordSeq, .edited, "the prune's anchor hash differs from the checkpoint kept outside the store")
            }
        }
    }

    private mutating func report(_ seq: Int64, _ kind: AuditBreak.Kind, _ message: String) {
        guard result.breaks.count < breakLimit else { return }
        result.breaks.append(AuditBreak(seq: seq, kind: kind, message: message))
    }
}
