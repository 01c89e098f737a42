import ArgumentParser

/// `quarry guard pii`: placeholder until the recognisers land.
struct GuardPII: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pii", abstract: "Find personal data in text.")
    func run() async throws { throw ValidationError("not built yet") }
}
