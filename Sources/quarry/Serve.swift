import ArgumentParser
import Foundation
import Hummingbird
import Logging
import QuarryEmbedding
import QuarryRetrieval
import QuarryServer
import QuarryStore

/// `quarry serve`: the HTTP API.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API (POST /query, GET /health).")

    @OptionGroup var options: CommonOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(help: "A folder under which POST /ingest may read (repeatable); without one, POST /ingest is refused.")
    var ingestRoot: [String] = []

    @Option(help: "Query results kept in the exact-match result cache (0 turns it off).")
    var cacheEntries: Int = 1024

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        var logger = Logger(label: "quarry")
        logger.logLevel = level
        let store = try options.openStore()
        let embedder = try MiniLMEmbedder(modelDirectory: options.modelURL)
        let roots = try ingestRoot.map { root in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--ingest-root \(root) is not a folder")
            }
            return URL(fileURLWithPath: root, isDirectory: true)
        }
        let jobs = IngestJobs(store: store, embedder: embedder, roots: roots, logger: logger)
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder, cache: cacheEntries > 0 ? QueryCache(capacity: cacheEntries) : nil),
            store: store,
            configuration: ServerConfiguration(host: host, port: port), jobs: jobs, logger: logger
        ) { [host] boundPort in
            let url = "http://\(host):\(boundPort ?? 0)"
            // Written straight to the file handle, unbuffered, so it shows at once even when piped.
            FileHandle.standardOutput.write(
                Data(
                """
                Quarry is serving on \(url)
                Try:
                  curl -s \(url)/query -H 'Content-Type: application/json' \\
                       -d '{"query": "How does WAL mode work?", "top_k": 3}'

                """.utf8
                )
            )
        }
        try await app.runService()
        // Ingest jobs stop at their next batch boundary; what they wrote stays consistent.
        await jobs.shutdown()
    }
}
