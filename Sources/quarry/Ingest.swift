import ArgumentParser
import Foundation
import QuarryConfig
import QuarryCore
import QuarryEmbedding
import QuarryIngest
import QuarryStore

/// `quarry ingest FOLDER`: brings a collection in step with a folder.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest a folder (.txt, .md, .html, .pdf, .docx, BEIR .jsonl): new and changed files are indexed, removed files dropped.",
        discussion: """
            Unchanged files (same size and time, else same SHA-256) are skipped; a changed file's \
            documents are replaced atomically; files gone from the folder are removed. Patterns \
            follow .gitignore: '*.md' selects Markdown files in every folder, 'drafts' everything \
            in folders called drafts, 'docs/**/*.html' paths below docs. Exits with status 2 when \
            some files could not be read (the others are ingested).
            """
    )

    @Argument(help: "The folder to ingest.")
    var folder: String

    @OptionGroup var options: CommonOptions

    @Option(help: "Collection to ingest into.")
    var collection: String = CollectionName.default

    @OptionGroup var tenant: TenantOption

    @Option(help: "Only ingest files matching this pattern (repeatable).")
    var include: [String] = []

    @Option(help: "Leave out files matching this pattern (repeatable).")
    var exclude: [String] = []

    @Option(help: "Who may see documents that name no access list and have no .quarry-access above them (comma-separated principals, e.g. group:legal,user:ana).")
    var access: String?

    @Flag(help: "Say what would change, write nothing.")
    var dryRun = false

    @Option(help: "Chunk size in word pieces (at most 254).")
    var chunkTokens: Int = 200

    @Option(help: "Word pieces repeated between consecutive chunks of a section (default: 15 % of the chunk size).")
    var overlapTokens: Int?

    @Flag(help: "Never draw a progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        guard (8...254).contains(chunkTokens) else { throw ValidationError("--chunk-tokens must be between 8 and 254") }
        if let overlapTokens, overlapTokens < 0 || overlapTokens > chunkTokens / 2 {
            throw ValidationError("--overlap-tokens must be between 0 and half of --chunk-tokens")
        }
    }

    func run() async throws {
        let stored = try tenant.storeName(of: collection)
        var ingestOptions: IngestOptions
        do {
            ingestOptions = IngestOptions(
                include: try include.map(Glob.init), exclude: try exclude.map(Glob.init), dryRun: dryRun,
                access: access.map(AccessList.parse)
            )
        } catch let error as GlobError {
            throw ValidationError(error.description)
        }
        // The collection's `ingest_pii` guard (the operator's command: no tier).
        let settings = try options.settings()
        ingestOptions.personalData = PersonalDataFilter(policy: settings.guardrails.policy(collection: stored, tier: nil))
        let embedder = try settings.openEmbedder()
        let store = try await options.openStore()
        let ingestor = FolderIngestor(store: store, embedder: embedder, chunkTokens: chunkTokens, overlapTokens: overlapTokens)
        let display = ProgressDisplay(terminal: !noProgress && isatty(STDERR_FILENO) == 1)
        let start = ContinuousClock.now
        let report = try await ingestor.ingest(
            folder: URL(fileURLWithPath: folder), collection: stored, options: ingestOptions
        ) { display.show($0) }
        display.finish()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let verb = dryRun ? "would ingest" : "ingested"
        print(
            """
            \(verb) \(folder) into '\(collection)' in \(String(format: "%.1f", seconds)) s: \
            \(report.added.count) added, \(report.updated.count) updated, \(report.removed.count) removed \
            (documents); \(report.unchanged) unchanged, \(report.skipped) skipped, \(report.failed.count) failed (files); \
            \(report.chunksWritten) chunks \(dryRun ? "to write" : "written")
            """
        )
        if !report.personalData.isEmpty {
            let found = report.personalData.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            print("personal data \(report.personalDataRedacted ? "redacted" : "found (not redacted; set guardrails ingest_pii to redact)"): \(found)")
        }
        if dryRun {
            for path in report.added { print("  add     \(path)") }
            for path in report.updated { print("  update  \(path)") }
            for path in report.removed { print("  remove  \(path)") }
        }
        for failure in report.failed {
            printError("failed: \(failure.path): \(failure.reason)")
        }
        if let warning = report.indexWarning { printError("warning: \(warning)") }
        if !report.failed.isEmpty { throw ExitCode(2) }
    }
}
