import Foundation
import PackagePlugin

/// Embeds the web console's files (`Console/site/` of the target) in the target's code, so
/// that one `quarry` binary serves the console without a resources folder beside it.
@main
struct EmbedConsole: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        // `directory` (deprecated) rather than `directoryURL`, which needs tools version 6.1.
        let site = URL(fileURLWithPath: "\(target.directory)", isDirectory: true).appending(path: "Console/site")
        // Listed on every build, so that a file added to the folder is embedded too.
        let files = try FileManager.default.contentsOfDirectory(at: site, includingPropertiesForKeys: [.isRegularFileKey])
            .filter { !$0.lastPathComponent.hasPrefix(".") && (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedConsoleFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding the console (\(files.count) files)",
                executable: try context.tool(named: "console-embedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
