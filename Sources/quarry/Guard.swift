import ArgumentParser

/// `quarry guard`: run the guards over text outside a query — to check a folder before
/// ingesting it, or to measure them on a labelled set (Benchmarks/guardrails/).
struct Guard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Scan text for personal data or prompt injection.",
        subcommands: [GuardPII.self, GuardInjection.self]
    )
}
