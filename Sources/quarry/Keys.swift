import ArgumentParser
import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore

/// `quarry keys create|list|revoke|rotate`: API keys, managed as the operator (whoever can open
/// the store can already read everything in it).
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, revoke or rotate API keys.", subcommands: [Create.self, List.self, Revoke.self, Rotate.self],
        defaultSubcommand: List.self
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print its secret, once: only its hash is stored.",
            discussion: "A tenant that does not exist yet is created with its first key."
        )
        @OptionGroup var options: CommonOptions
        @Option(help: "The tenant the key acts in (default: default).") var tenant: String = Tenant.default
        @Option(help: "reader, writer, admin or operator.") var role: String
        @Option(help: "Limit the key to these collections (comma-separated).") var collections: String?
        @Option(help: "Who the key speaks for in document permissions, e.g. user:ana,group:legal.") var principals: String?
        @Option(help: "Rate limit as REQUESTS/s, e.g. 20/s (default: the tier's).") var rate: String?
        @Option(help: "Requests allowed in a burst (default: the tier's).") var burst: Int?
        @Option(help: "Expiry as a duration: 90d, 12h, 30m (default: never).") var expires: String?
        @Option(help: "The limits tier (default: the tenant's).") var tier: String?

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be reader, writer, admin or operator") }
            let store = try await options.openStore()
            let specification = KeySpecification(
                role: role, collections: collections.map(Self.list), principals: principals.map(Self.list) ?? [],
                rate: try rate.map(Self.rate), burst: burst, expiresAt: try expires.map { Date().addingTimeInterval(try Keys.duration($0)) },
                tier: tier
            )
            let issued = try await KeyManager(store: store).create(specification, tenant: tenant, by: KeyManager.commandLine)
            FileHandle.standardError.write(Data("created key \(issued.record.id) (\(role.rawValue) of tenant '\(tenant)'); its secret, shown only now:\n".utf8))
            print(issued.token)
        }

        static func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        static func rate(_ text: String) throws -> Double {
            let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
            guard let value = Double(number), value > 0 else { throw ValidationError("--rate must look like 20/s") }
            return value
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: CommonOptions
        @Option(help: "Only this tenant's keys.") var tenant: String?

        func run() async throws {
            let store = try await options.openStore()
            let now = Date()
            let formatter = ISO8601DateFormatter()
            for key in try await KeyManager(store: store).list(tenant: tenant, by: KeyManager.commandLine) {
                let state = key.revokedAt != nil ? "revoked" : key.isActive(at: now) ? "active" : "expired"
                let collections = key.collections?.joined(separator: ",") ?? "*"
                let expiry = key.expiresAt.map { "expires \(formatter.string(from: $0))" } ?? "no expiry"
                let used = key.lastUsedAt.map { "last used \(formatter.string(from: $0))" } ?? "never used"
                print(
                    "\(key.id)\t\(key.tenant)\t\(key.role)\t\(state)\tcollections \(collections)\tprincipals \(key.principals.joined(separator: ","))\t\(expiry)\t\(used)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working within seconds on every server.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The key's id.") var id: String

        func run() async throws {
            let store = try await options.openStore()
            try await KeyManager(store: store).revoke(id: id, by: KeyManager.commandLine)
            print("revoked key \(id)")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a key with a new one of the same rights; the old one keeps working for --grace, then expires."
        )
        @OptionGroup var options: CommonOptions
        @Argument(help: "The key's id.") var id: String
        @Option(help: "How long the old key keeps working: 24h, 30m, 0s (default: 24h).") var grace: String = "24h"

        func run() async throws {
            let store = try await options.openStore()
            let seconds = try Keys.duration(grace, allowZero: true)
            let issued = try await KeyManager(store: store).rotate(id: id, grace: .seconds(seconds), by: KeyManager.commandLine)
            FileHandle.standardError.write(Data("key \(id) is replaced by \(issued.record.id); its secret, shown only now:\n".utf8))
            print(issued.token)
        }
    }

    /// A duration such as `90d`, `12h`, `30m` or `45s`, in seconds.
    static func duration(_ text: String, allowZero: Bool = false) throws -> TimeInterval {
        let units: [Character: TimeInterval] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()), value > 0 || (allowZero && value == 0) else {
            throw ValidationError("'\(text)' is not a duration: use a number and d, h, m or s, e.g. 90d")
        }
        return value * unit
    }
}
