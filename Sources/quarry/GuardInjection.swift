import ArgumentParser

/// `quarry guard injection`: placeholder until the scorer lands.
struct GuardInjection: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "injection", abstract: "Score text for prompt injection.")
    func run() async throws { throw ValidationError("not built yet") }
}
