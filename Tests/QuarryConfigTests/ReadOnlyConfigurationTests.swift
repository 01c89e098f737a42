import Foundation
import QuarryConfig
import QuarryCore
import QuarryStore
import QuarryTestSupport
import Testing

/// `read_only`: from the file, from `QUARRY_READ_ONLY`, and refused with the pgvector backend.
@Suite struct ReadOnlyConfigurationTests {
    @Test func readOnlyComesFromTheFileAndTheEnvironment() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try dir.write(#"{"store": "/srv/replica", "read_only": true}"#, to: "quarry.json")
        var settings = try QuarryConfiguration.load(from: file)
        #expect(settings.readOnly)
        #expect(QuarryConfiguration().readOnly == false)
        try settings.applyEnvironment(["QUARRY_READ_ONLY": "false"])
        #expect(!settings.readOnly)
        try settings.applyEnvironment(["QUARRY_READ_ONLY": "1"])
        #expect(settings.readOnly)
        #expect { try settings.applyEnvironment(["QUARRY_READ_ONLY": "maybe"]) } throws: {
            ($0 as? QuarryError)?.message == "QUARRY_READ_ONLY=maybe must be true or false"
        }
        // The encoder's precision is read by the encoder; a value it would not know is refused here.
        try settings.applyEnvironment(["QUARRY_ENCODER_PRECISION": "Float32"])
        #expect { try settings.applyEnvironment(["QUARRY_ENCODER_PRECISION": "fp16"]) } throws: {
            ($0 as? QuarryError)?.message == "QUARRY_ENCODER_PRECISION=fp16 must be float32 or bfloat16"
        }
        let wrongType = try dir.write(#"{"read_only": "yes"}"#, to: "wrong.json")
        #expect { try QuarryConfiguration.load(from: wrongType) } throws: {
            ($0 as? QuarryError)?.message.contains("'read_only' must be of type Bool") == true
        }
    }

    @Test func readOnlyIsForTheSQLiteStore() throws {
        var settings = QuarryConfiguration()
        settings.readOnly = true
        #expect(settings.problems().isEmpty)
        settings.backend = "pgvector"
        settings.postgres.url = "postgres://quarry@127.0.0.1:5432/quarry"
        #expect(settings.problems().contains { $0.hasPrefix("read_only applies to the sqlite backend") })
    }

    /// A store opened through the configuration with `read_only` refuses writes.
    @Test func theStoreFactoryOpensItReadOnly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        var settings = QuarryConfiguration()
        settings.store = dir.url.path
        let writable = try await settings.openStore()
        #expect(writable.readOnlyReason == nil)
        await writable.close()
        settings.readOnly = true
        let store = try await settings.openStore()
        #expect(store.readOnlyReason != nil)
        await #expect { try await store.removeCollection(named: "default") } throws: { ($0 as? QuarryError)?.code == .readOnly }
        await store.close()
    }
}
