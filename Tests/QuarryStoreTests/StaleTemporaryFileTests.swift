import Foundation
import QuarryStore
import QuarryTestSupport
import Testing

/// An index save cut short by a crash leaves a temporary file; opening the store removes it once
/// it is old enough that no live save can own it (issue 15).
@Suite struct StaleTemporaryFileTests {
    @Test func openingTheStoreRemovesOldTemporaryIndexFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let index = directory.url.appendingPathComponent("index")
        try FileManager.default.createDirectory(at: index, withIntermediateDirectories: true)
        let old = index.appendingPathComponent(".docs.hnsw.0A1B.tmp")
        let fresh = index.appendingPathComponent(".docs.hnsw.2C3D.tmp")
        let kept = index.appendingPathComponent("docs.hnsw")
        for url in [old, fresh, kept] { try Data("x".utf8).write(to: url) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: old.path)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: kept.path)

        let store = try SQLiteChunkStore(directory: directory.url)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: index.path))
        #expect(!names.contains(old.lastPathComponent))
        #expect(names.contains(fresh.lastPathComponent), "a save under way in another process is left alone")
        #expect(names.contains(kept.lastPathComponent))
        await store.close()
    }
}
