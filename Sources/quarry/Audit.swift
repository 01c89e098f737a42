import ArgumentParser
import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore

/// `quarry audit verify|export|prune`.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify, export or prune the audit log.", subcommands: [VerifyLog.self, Export.self, Prune.self]
    )

    struct VerifyLog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the audit log's hash chain: finds edited, deleted and relinked rows. Exits 1 on a break.",
            discussion: """
                Prints the last row as SEQ:HASH. Keep that checkpoint outside the store and pass it to the next \
                verify with --checkpoint: the chain alone cannot tell rows deleted from its end, or a whole tail \
                rewritten by someone who can write to the store.
                """
        )
        @OptionGroup var options: CommonOptions
        @Option(help: "SEQ:HASH printed by an earlier verify and kept outside the store.") var checkpoint: String?

        func run() async throws {
            let point = try checkpoint.map { text in
                guard let point = AuditChainPoint(text) else { throw ValidationError("--checkpoint takes SEQ:HASH, as verify prints it") }
                return point
            }
            let audit = try await openAuditStore(options)
            var verifier = AuditChainVerifier.quarry(checkpoint: point)
            var after: Int64 = 0
            while true {
                let rows = try await audit.auditRows(since: nil, tenant: nil, after: after, limit: 1000)
                for row in rows { verifier.check(row) }
                guard let last = rows.last else { break }
                after = last.seq
            }
            let result = verifier.finish()
            for found in result.breaks { printError("break: \(found)") }
            var summary = "audit log: \(result.rowsChecked) rows"
            if let start = result.start, let last = result.last { summary += ", seq \(start.seq)…\(last.seq)" }
            if let pruned = result.prunedThrough { summary += ", pruned through \(pruned)" }
            if point != nil { summary += result.checkpointChecked ? ", checkpoint matched" : ", checkpoint pruned away (not compared)" }
            summary += result.isIntact ? "; the chain holds" : "; \(result.breaks.count) breaks, the first at seq \(result.breaks[0].seq)"
            print(summary)
            if let last = result.last { print("checkpoint: \(last)") }
            if !result.isIntact { throw ExitCode(1) }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write audit records as JSON lines: seq, previous_hash, hash and the record exactly as hashed."
        )
        @OptionGroup var options: CommonOptions
        @Option(help: "Only records from this time on: an age (7d, 12h) or an ISO 8601 date or time.") var since: String?
        @Option(help: "Only this tenant's records.") var tenant: String?

        func run() async throws {
            let start = try since.map { try TimeArgument.date($0, option: "--since") }
            if let tenant { try Tenant.validate(tenant) }
            let audit = try await openAuditStore(options)
            var after: Int64 = 0
            while true {
                let rows = try await audit.auditRows(since: start, tenant: tenant, after: after, limit: 1000)
                var lines = ""
                for row in rows { lines += row.exportJSON + "\n" }
                FileHandle.standardOutput.write(Data(lines.utf8))
                guard let last = rows.last else { break }
                after = last.seq
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove audit records older than an age, and record the prune in the log (so verify can tell it from a deletion)."
        )
        @OptionGroup var options: CommonOptions
        @Option(help: "Remove records older than this: an age (90d, 12h) or an ISO 8601 date or time.") var olderThan: String

        func run() async throws {
            let cutoff = try TimeArgument.date(olderThan, option: "--older-than")
            let audit = try await openAuditStore(options)
            let now = Date()
            let prune = try await audit.pruneAudit(before: cutoff, link: AuditHash.link) { prune in
                let record = AuditRecord.prune(throughSeq: prune.throughSeq, anchorHash: prune.anchorHash, at: now)
                return AuditEntry(at: record.at, tenant: nil, record: try record.canonicalJSON())
            }
            if let prune {
                print("pruned \(prune.removed) audit records through seq \(prune.throughSeq); the chain now starts from \(prune.anchorHash)")
            } else {
                print("no audit records older than \(AuditTimestamp.string(cutoff))")
            }
        }
    }
}

/// The store's audit log.
private func openAuditStore(_ options: CommonOptions) async throws -> any AuditStore {
    // Every store backend keeps one (`ChunkStore` refines `AuditStore`).
    try await options.openStore()
}

extension AuditChainVerifier {
    /// A verifier of the chain Quarry writes: SHA-256 links and `AuditRecord`s.
    static func quarry(checkpoint: AuditChainPoint?) -> AuditChainVerifier {
        AuditChainVerifier(
            link: AuditHash.link,
            facts: { json in
                (try? AuditRecord(canonicalJSON: json)).map {
                    AuditRecordFacts(at: $0.at, tenant: $0.tenant, prunedThrough: $0.prunedThrough, anchorHash: $0.anchorHash)
                }
            },
            checkpoint: checkpoint
        )
    }
}

/// A point in time on the command line: an age before now (`7d`, `12h`) or an ISO 8601 date
/// (`2026-12-01`, midnight UTC) or time (`2026-12-01T09:00:00Z`).
enum TimeArgument {
    static func date(_ text: String, option: String, now: Date = Date()) throws -> Date {
        if let unit = text.last, let hours = ["d": 24.0, "h": 1.0][String(unit)], let count = Double(text.dropLast()), count >= 0 {
            return now.addingTimeInterval(-count * hours * 3600)
        }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        throw ValidationError("\(option) takes an age (7d, 12h) or an ISO 8601 date (2026-12-01) or time (2026-12-01T09:00:00Z), not '\(text)'")
    }
}
