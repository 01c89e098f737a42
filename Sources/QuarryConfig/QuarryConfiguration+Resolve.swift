import Foundation
import QuarryCore
import QuarryEmbedding

extension QuarryConfiguration {
    /// The model folder used when neither the configuration nor `$QUARRY_MODEL` names one.
    public static let defaultModelPath = "models/all-MiniLM-L6-v2"

    /// The one merge every command uses: defaults, then the JSON file (`file`, else
    /// `$QUARRY_CONFIG`), then `QUARRY_*` environment variables, then `overrides` (the command
    /// line), then a check of the whole.
    /// - Parameters:
    ///   - file: a configuration file named on the command line.
    ///   - environment: the process environment.
    ///   - overrides: applies the command-line options that were given.
    /// - Throws: `QuarryError.invalidRequest` for an unreadable file, a malformed environment
    ///   variable, or settings that cannot be used (every problem, one per line).
    public static func resolve(
        file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: (inout QuarryConfiguration) -> Void = { _ in }
    ) throws -> QuarryConfiguration {
        var settings = QuarryConfiguration()
        if let path = file ?? environment["QUARRY_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            settings = try QuarryConfiguration.load(from: URL(fileURLWithPath: path))
        }
        try settings.applyEnvironment(environment)
        overrides(&settings)
        let problems = settings.problems()
        guard problems.isEmpty else {
            throw QuarryError(.invalidRequest, "invalid settings:\n  " + problems.joined(separator: "\n  "))
        }
        return settings
    }

    /// The model folder: `model`, else `defaultModelPath` (relative to the working directory).
    public var modelURL: URL {
        URL(fileURLWithPath: model ?? Self.defaultModelPath, isDirectory: true)
    }

    /// Loads the configured embedding model (`model`, named `modelName` when set).
    /// - Parameter threads: cores the encoder uses.
    /// - Throws: `QuarryError.modelMissing` or `.modelCorrupt`, saying how to fix it.
    public func openEmbedder(threads: Int = 2) throws -> MiniLMEmbedder {
        try MiniLMEmbedder(modelDirectory: modelURL, threads: threads, name: modelName)
    }
}
