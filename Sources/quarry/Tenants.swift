import ArgumentParser
import Foundation
import QuarryAccess
import QuarryCore
import QuarryStore

/// `quarry tenants list|create|set-tier`: tenants and their limits tiers, managed as the operator.
struct Tenants: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or create tenants, or move one to another limits tier.", subcommands: [List.self, Create.self, SetTier.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenants with their tiers.")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let store = try await options.openStore()
            for tenant in try await KeyManager(store: store).tenants(by: KeyManager.commandLine) {
                print("\(tenant.name)\ttier \(tenant.tier ?? "(default)")\tcreated \(ISO8601DateFormatter().string(from: tenant.createdAt))")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant (quarry keys create also creates the tenant of its first key)."
        )
        @OptionGroup var options: CommonOptions
        @Argument(help: "The tenant's name.") var name: String
        @Option(help: "Its limits tier (default: limits.default_tier).") var tier: String?

        func run() async throws {
            let store = try await options.openStore()
            let tenant = try await KeyManager(store: store).createTenant(name, tier: tier, by: KeyManager.commandLine)
            print("created tenant '\(tenant.name)' (tier \(tenant.tier ?? "(default)"))")
        }
    }

    struct SetTier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-tier",
            abstract: "Move a tenant to another limits tier; running servers apply it within two seconds."
        )
        @OptionGroup var options: CommonOptions
        @Argument(help: "The tenant.") var name: String
        @Argument(help: "The tier, as named in limits.tiers; 'default' for limits.default_tier.") var tier: String

        func run() async throws {
            let store = try await options.openStore()
            let tenant = try await KeyManager(store: store).setTenantTier(
                name, tier: tier == "default" ? nil : tier, by: KeyManager.commandLine
            )
            print("tenant '\(tenant.name)' is now in tier \(tenant.tier ?? "(default)")")
        }
    }
}
