import ArgumentParser
import Foundation
import QuarryCore
import QuarryStore

/// `quarry sessions list|show|delete|prune`: conversations, read and removed as the operator
/// (whoever can open the store can already read everything in it).
struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, delete or prune conversation sessions.", subcommands: [List.self, Show.self, Delete.self, Prune.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a tenant's sessions that have not expired, most recently used first.",
            discussion: "One line each: id, key, collection, turns, last used, expiry, and when it was archived."
        )
        @OptionGroup var options: CommonOptions
        @OptionGroup var tenant: TenantOption
        @Option(name: .customLong("key"), help: "Only the sessions this key started.") var keyID: String?
        @Option(help: "List at most this many (default: all).") var limit: Int?
        @Option(help: "Start after this session (the last id of an earlier listing).") var after: String?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let store = try await options.openStore()
            var remaining = limit ?? Int.max
            var cursor = after.map { SessionCursor(id: $0) }
            while remaining > 0 {
                let page = try await store.listSessions(tenant: tenant.tenant, keyID: keyID, limit: min(remaining, 500), after: cursor)
                for session in page { print(Sessions.line(session)) }
                remaining -= page.count
                guard page.count == 500, let last = page.last else { break }
                cursor = SessionCursor(after: last)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session and its turns, oldest first.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "The session's id.") var id: String
        @Option(help: "Only its last N turns.") var last: Int?

        func validate() throws {
            if let last, last < 1 { throw ValidationError("--last must be at least 1") }
        }

        func run() async throws {
            let store = try await options.openStore()
            guard let session = try await store.session(id: id, tenant: tenant.tenant) else {
                throw QuarryError(.notFound, "session '\(id)' does not exist for tenant '\(tenant.tenant)' (or has expired)")
            }
            print(Sessions.line(session))
            for turn in try await store.turns(session: id, tenant: tenant.tenant, last: last) {
                var text = "\n[\(turn.seq)] \(Sessions.time(turn.at))"
                if let model = turn.model { text += " \(model)" }
                if let prompt = turn.promptTokens, let completion = turn.completionTokens {
                    text += " (\(prompt) prompt + \(completion) completion tokens)"
                }
                text += "\nQ: \(turn.question)"
                if let standalone = turn.standaloneQuestion { text += "\n   searched as: \(standalone)" }
                text += "\n\(turn.abstained ? "A (abstained)" : "A"): \(turn.answer)"
                for citation in turn.citations { text += "\n   [\(citation.id)] \(citation.document) (\(citation.chunkID))" }
                print(text)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a session and its turns.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "The session's id.") var id: String

        func run() async throws {
            let store = try await options.openStore()
            guard try await store.deleteSession(id: id, tenant: tenant.tenant) else {
                throw QuarryError(.notFound, "session '\(id)' does not exist for tenant '\(tenant.tenant)' (or has expired)")
            }
            print("deleted session '\(id)'")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete every tenant's expired sessions (and, when asked, old archived ones) with their turns.",
            discussion: "Expired sessions are already gone for the API; prune frees their space. Prints how many were deleted."
        )
        @OptionGroup var options: CommonOptions
        @Option(help: "Also delete sessions archived more than this many days ago (0: every archived session).")
        var archivedOlderThanDays: Int?

        func validate() throws {
            if let archivedOlderThanDays, archivedOlderThanDays < 0 { throw ValidationError("--archived-older-than-days must not be negative") }
        }

        func run() async throws {
            let store = try await options.openStore()
            let now = Date()
            let archivedBefore = archivedOlderThanDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
            let pruned = try await store.pruneSessions(now: now, archivedBefore: archivedBefore)
            let archived = archivedOlderThanDays.map { " and archived more than \($0) days ago" } ?? ""
            print("pruned \(pruned) sessions (expired\(archived))")
        }
    }

    /// A session on one line, tab-separated.
    static func line(_ session: SessionRecord) -> String {
        [
            session.id, "key \(session.keyID ?? "(none)")", "collection \(session.collection ?? "(default)")", "\(session.turnCount) turns",
            "updated \(time(session.updatedAt))", session.expiresAt.map { "expires \(time($0))" } ?? "no expiry",
            session.archivedAt.map { "archived \(time($0))" } ?? "open",
        ].joined(separator: "\t")
    }

    static func time(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
