import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryEval
import QuarryIngest
import QuarryRetrieval
@testable import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// The web console as the server delivers it: its files open without a key, under a strict
/// policy, small, and written so that no server text can become markup. (What it does in a
/// browser is tested by Tests/console, in headless Chromium.)
@Suite struct ConsoleRouteTests {
    static func app(keys: Bool) async throws -> (some ApplicationProtocol, SQLiteChunkStore, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let store = try SQLiteChunkStore(directory: directory.url.appendingPathComponent("store"))
        if keys {
            _ = try await KeyManager(store: store).create(KeySpecification(role: .reader), tenant: "default", by: KeyManager.commandLine)
        }
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: HashingEmbedder()), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            keyRing: KeyRing(store: store, mode: .whenKeysExist, cacheLifetime: .zero), logger: Logger(label: "test")
        )
        return (app, store, directory)
    }

    @Test func thePageAndItsFilesNeedNoKeyAndCarryAStrictPolicy() async throws {
        let (app, _, directory) = try await Self.app(keys: true)
        defer { directory.cleanUp() }
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(page.headers[.contentSecurityPolicy])
            let directives = Dictionary(
                policy.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.map { directive in
                    let parts = directive.split(separator: " ", maxSplits: 1).map(String.init)
                    return (parts[0], parts.count > 1 ? parts[1] : "")
                },
                uniquingKeysWith: { first, _ in first }
            )
            #expect(directives["script-src"] == "'self'")
            #expect(directives["default-src"] == "'none'")
            #expect(directives["frame-ancestors"] == "'none'")
            #expect(directives["require-trusted-types-for"] == "'script'")
            #expect(directives["style-src"] == "'self' '\(HTMLReport.stylesheetHash)'")
            #expect(!policy.contains("unsafe"))
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            #expect(page.headers[.xFrameOptions] == "DENY")
            let html = String(decoding: page.body.readableBytesView, as: UTF8.self)
            #expect(html.contains("/console/main.js"))

            for name in ConsoleAssets.embeddedNames {
                let file = try await client.execute(uri: "/console/\(name)", method: .get)
                #expect(file.status == .ok, "\(name)")
                #expect(file.headers[.contentType] == ConsoleAssets.contentTypes[(name as NSString).pathExtension], "\(name)")
            }
            // The API itself still needs the key.
            #expect(try await client.execute(uri: "/collections", method: .get).status == .unauthorized)
        }
    }

    @Test func unknownOrMalformedFileNamesAre404() async throws {
        let (app, _, directory) = try await Self.app(keys: false)
        defer { directory.cleanUp() }
        try await app.test(.router) { client in
            for path in ["/console/nothing.js", "/console/..%2FPackage.swift", "/console/.hidden.js", "/console/main.exe", "/console/%2e%2e"] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
            }
        }
        for name in ["../x.js", "a/b.js", ".env", "..", "", "x..js", String(repeating: "a", count: 70) + ".js", "ünï.js"] {
            #expect(!ConsoleAssets.isFileName(name), "\(name)")
        }
        #expect(ConsoleAssets.isFileName("main.js") && ConsoleAssets.isFileName("console-2.css"))
    }

    @Test func everyAPIResponseIsNeverSniffedOrFramed() async throws {
        let (app, _, directory) = try await Self.app(keys: false)
        defer { directory.cleanUp() }
        try await app.test(.router) { client in
            for (path, status) in [("/health", HTTPResponse.Status.ok), ("/collections", .ok), ("/nowhere", .notFound)] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == status)
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                #expect(response.headers[.xFrameOptions] == "DENY", "\(path)")
                #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'", "\(path)")
            }
        }
    }

    /// The issue's budget: the page and everything it loads, 200 KB at most (reports aside).
    @Test func theConsoleWeighsAtMost200KB() {
        let assets = ConsoleAssets()
        let bytes = ConsoleAssets.embeddedNames.compactMap { assets.file(named: $0)?.bytes.count }.reduce(0, +)
        #expect(ConsoleAssets.embeddedNames.contains("index.html"))
        #expect(bytes > 0 && bytes <= 200 * 1024, "\(bytes) bytes")
    }

    /// Safe by construction: no script writes markup from strings (Trusted Types would throw
    /// in Chromium; this holds for every browser), and the page has no inline script, style
    /// or event handler for the policy to have to allow.
    @Test func noScriptWritesMarkupAndThePageHasNothingInline() throws {
        let assets = ConsoleAssets()
        let sinks = ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc", "createContextualFragment", "DOMParser"]
        for name in ConsoleAssets.embeddedNames where name.hasSuffix(".js") {
            let text = String(decoding: try #require(assets.file(named: name)).bytes, as: UTF8.self)
            for sink in sinks { #expect(!text.contains(sink), "\(name) uses \(sink)") }
            #expect(text.range(of: #"setTimeout\(\s*["'`]"#, options: .regularExpression) == nil, "\(name)")
        }
        for name in ConsoleAssets.embeddedNames where name.hasSuffix(".html") {
            let html = String(decoding: try #require(assets.file(named: name)).bytes, as: UTF8.self)
            #expect(html.range(of: #"<script(?![^>]*\bsrc=)[^>]*>"#, options: [.regularExpression, .caseInsensitive]) == nil, "\(name): inline script")
            #expect(html.range(of: #"\son[a-z]+\s*="#, options: [.regularExpression, .caseInsensitive]) == nil, "\(name): event handler attribute")
            #expect(html.range(of: #"\sstyle\s*="#, options: [.regularExpression, .caseInsensitive]) == nil, "\(name): style attribute")
            #expect(!html.lowercased().contains("<style"), "\(name): style element")
            #expect(html.range(of: #"(src|href)\s*=\s*["']?(https?:)?//"#, options: [.regularExpression, .caseInsensitive]) == nil, "\(name): loads from another origin")
        }
    }

    @Test func aFolderServesItsFilesForConsoleWork() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("export const x = 1;", to: "app.js")
        let assets = ConsoleAssets.fromEnvironment(["QUARRY_CONSOLE_DIR": directory.url.path])
        #expect(assets.file(named: "app.js").map { String(decoding: $0.bytes, as: UTF8.self) } == "export const x = 1;")
        #expect(assets.file(named: "index.html") == nil)
        #expect(ConsoleAssets.fromEnvironment([:]).folder == nil)
    }
}
