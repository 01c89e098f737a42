import Foundation
import QuarryCore
import Testing

@testable import QuarryIngest

func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
}

@Suite struct HTMLLoaderTests {
    let page = """
        <!DOCTYPE html>
        <html><head><title>WAL &amp; Checkpoints</title>
        <style>body { color: red }</style>
        <script>var x = "<p>not text</p>";</script></head>
        <body>
        <nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
        <div role="navigation"><ul><li>Menu item</li></ul></div>
        <h1>Write-Ahead   Logging</h1>
        <p>Readers &amp; writers  work <b>at the same</b> time&nbsp;&mdash; mostly.</p>
        <!-- a comment with <p>markup</p> -->
        <h2 id="cp">Checkpoints</h2>
        <p>A checkpoint copies pages &#8220;back&#x201D; into the database. 3 &lt; 4 &bogus; AT&T</p>
        <pre>PRAGMA wal_checkpoint(TRUNCATE);
          indented line</pre>
        <ul><li>first item</li><li>second item</li></ul>
        <footer>Copyright notice</footer>
        </body></html>
        """

    @Test func keepsHeadingsParagraphsAndCodeDropsChrome() {
        let blocks = HTMLLoader().blocks(of: page)
        #expect(blocks.map(\.text) == [
            "Write-Ahead Logging",
            "Readers & writers work at the same time — mostly.",
            "Checkpoints",
            "A checkpoint copies pages “back” into the database. 3 < 4 &bogus; AT&T",
            "PRAGMA wal_checkpoint(TRUNCATE);\n  indented line",
            "first item",
            "second item",
        ])
        #expect(blocks.map(\.kind) == [
            .heading(level: 1), .paragraph, .heading(level: 2), .paragraph, .code, .paragraph, .paragraph,
        ])
        #expect(blocks[0].lineStart == 8)
        #expect(HTMLLoader().title(of: page) == "WAL & Checkpoints")
    }

    @Test func brokenMarkupStillGivesText() {
        let blocks = HTMLLoader().blocks(of: "<p>unclosed <b>bold <i>text<p>next para < not a tag &amp x <div")
        #expect(blocks.map(\.text) == ["unclosed bold text", "next para < not a tag & x"])
        #expect(HTMLLoader().blocks(of: "").isEmpty)
        #expect(HTMLLoader().blocks(of: "<script>never closed").isEmpty)
        #expect(HTMLLoader().blocks(of: "&#0; &#xFFFFFFFF; &#99999999999;").map(\.text) == ["\u{FFFD} \u{FFFD} &#99999999999;"])
    }
}

@Suite struct PDFLoaderTests {
    @Test func extractsParagraphsWithPages() throws {
        let blocks = try PDFLoader().blocks(ofFileAt: try fixture("two-pages.pdf"))
        #expect(blocks.map(\.text) == [
            "Write-ahead logging keeps readers and writers apart. A checkpoint moves pages back into the database.",
            "Page two talks about vacuum. VACUUM rebuilds the database file.",
        ])
        #expect(blocks.map(\.page) == [1, 2])
        #expect(blocks.map(\.lineStart) == [1, 4])
    }

    @Test(arguments: ["truncated.pdf", "not-a-pdf.pdf"])
    func damagedPDFIsAClearError(name: String) throws {
        do {
            _ = try PDFLoader().blocks(ofFileAt: try fixture(name))
            Issue.record("\(name) was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .unreadableInput)
            #expect(error.message.contains("pdftotext failed"))
        }
    }

    @Test func missingToolIsAClearError() throws {
        let loader = PDFLoader(executable: "/nonexistent/pdftotext")
        #expect(throws: QuarryError.self) { try loader.blocks(ofFileAt: try fixture("two-pages.pdf")) }
    }

    @Test func slowExtractionIsStoppedAtTheTimeout() throws {
        // A stand-in "pdftotext" that never finishes: the loader must kill it and say so.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-slow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("pdftotext")
        try Data("#!/bin/sh\nexec sleep 30\n".utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let loader = PDFLoader(executable: script.path, timeout: .milliseconds(300))
        do {
            _ = try loader.blocks(ofFileAt: try fixture("two-pages.pdf"))
            Issue.record("the stalled extraction was not stopped")
        } catch let error as QuarryError {
            #expect(error.message.contains("longer than"))
        }
    }

    @Test func joinsHyphenatedLinesAndSplitsPages() {
        let blocks = PDFLoader.blocks(ofPagedText: "retrie-\nval works\n\nsecond para\n\u{0C}page two\n")
        #expect(blocks.map(\.text) == ["retrieval works", "second para", "page two"])
        #expect(blocks.map(\.page) == [1, 1, 2])
    }
}

@Suite struct DOCXLoaderTests {
    @Test func readsHeadingsAndParagraphs() throws {
        let blocks = try DOCXLoader().blocks(ofFileAt: try fixture("handbook.docx"))
        #expect(blocks.map(\.text) == [
            "Quarry Handbook", "Installing", "Run make run on a fresh machine.", "Models",
            "The model is fetched from PyPI.\tIt is checked by SHA-256.",
            "Café & crème: entities and accents survive.",
        ])
        #expect(blocks.map(\.kind) == [
            .heading(level: 1), .heading(level: 1), .paragraph, .heading(level: 2), .paragraph, .paragraph,
        ])
        #expect(blocks.map(\.lineStart) == [1, 2, 3, 4, 5, 6])
    }

    @Test(arguments: ["truncated.docx", "no-document.docx", "bad-xml.docx", "two-pages.pdf"])
    func damagedDocumentIsAClearError(name: String) throws {
        do {
            _ = try DOCXLoader().blocks(ofFileAt: try fixture(name))
            Issue.record("\(name) was accepted")
        } catch let error as QuarryError {
            #expect(error.code == .unreadableInput)
            #expect(error.message.contains(name))
        }
    }
}

@Suite struct MetadataTests {
    @Test func jsonlMetadataIsFlattenedWithTypesKept() throws {
        let line = #"{"_id": "d1", "text": "Body.", "metadata": {"lang": "en", "year": 2021, "score": 1.5, "open": true, "count": 1, "none": null, "tags": ["a", "b"], "author": {"name": "Ada", "orcid": 7}}}"#
        guard case .document(let record) = Array(JSONLLoader().lines(of: Data(line.utf8)))[0] else {
            Issue.record("not a document")
            return
        }
        #expect(
            record.metadata == [
                "lang": "en", "year": "2021", "score": "1.5", "open": "true", "count": "1", "tags": #"["a","b"]"#,
                "author.name": "Ada", "author.orcid": "7",
            ]
        )
        guard case .document(let plain) = Array(JSONLLoader().lines(of: Data(#"{"_id": "d2", "text": "x", "metadata": "n/a"}"#.utf8)))[0] else {
            Issue.record("not a document")
            return
        }
        #expect(plain.metadata.isEmpty)
    }

    @Test func markdownFrontMatterIsMetadataNotText() {
        let text = "---\ntitle: \"WAL guide\"\nteam: storage\n  nested: ignored\n# comment: no\n---\n# Heading\n\nBody text.\n"
        let (metadata, lines) = TextLoader.frontMatter(of: text)
        #expect(metadata == ["title": "WAL guide", "team": "storage"])
        #expect(lines == 6)
        let blocks = TextLoader(markdown: true).blocks(of: text)
        #expect(blocks.map(\.text) == ["Heading", "Body text."])
        #expect(blocks.first?.lineStart == 7)
        // A rule that is never closed, or not on the first line, is not front matter.
        #expect(TextLoader.frontMatter(of: "---\nkey: value\n\ntext").lines == 0)
        #expect(TextLoader.frontMatter(of: "text\n---\nkey: value\n---").metadata.isEmpty)
        #expect(TextLoader(markdown: false).blocks(of: text).first?.text.contains("team: storage") == true)
    }

    @Test func htmlMetaTagsAreMetadata() {
        let page = #"<html><head><meta charset="utf-8"><meta name="Author" content="Ada &amp; Co"><meta property='og:type' content=article /><meta name="empty"></head><body><p>Text</p></body></html>"#
        #expect(HTMLLoader().metadata(of: page) == ["author": "Ada & Co", "og:type": "article"])
        #expect(HTMLLoader().blocks(of: page).map(\.text) == ["Text"])
    }
}
