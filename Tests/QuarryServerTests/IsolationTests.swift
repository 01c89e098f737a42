import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// Thousands of random requests from keys of several tenants, with random roles, collection
/// lists and principals, against documents with random access lists — searched, queried (result
/// cache on, so cache hits are checked too), listed, read, re-permissioned and deleted — each
/// answer checked against a model of who may see what. Zero leaks is the only pass. Seeded: a
/// failure names its seed and request, and replays the same way.
@Suite struct IsolationTests {
    struct KeyModel {
        var token: String
        var tenant: String
        var role: Role
        var collections: Set<String>?
        var principals: Set<String>
    }

    struct DocumentModel {
        var tenant: String
        var collection: String
        var path: String
        var access: [String]?
    }

    static let tenants = ["default", "acme", "beta"]
    static let collections = ["docs", "wiki"]
    static let principalPool = ["user:ana", "user:bob", "group:legal", "group:hr", "group:eng"]

    static func randomList(_ generator: inout SplitMix64) -> [String]? {
        switch generator.next() % 4 {
        case 0: return nil
        case 1: return ["public"]
        default:
            let count = 1 + Int(generator.next() % 2)
            return Array(Set((0..<count).map { _ in principalPool[Int(generator.next() % UInt64(principalPool.count))] })).sorted()
        }
    }

    static func visible(_ document: DocumentModel, to key: KeyModel) -> Bool {
        guard document.tenant == key.tenant, key.collections.map({ $0.contains(document.collection) }) ?? true else { return false }
        if key.role >= .admin { return true }
        guard let access = document.access else { return true }
        return access.contains("public") || !key.principals.isDisjoint(with: access)
    }

    @Test(arguments: StoreBackend.allCases)
    func randomRequestsNeverLeak(_ backend: StoreBackend) async throws {
        let seed: UInt64 = 20_261_202
        var generator = SplitMix64(seed: seed)
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open(exactSearchLimit: 40)
        let embedder = HashingEmbedder(dimension: 32)
        var documents: [String: DocumentModel] = [:]  // by "store collection|path"
        for tenant in Self.tenants {
            for collection in Self.collections {
                let stored = try Tenant.storeName(of: collection, in: tenant)
                _ = try await store.ensureCollection(named: stored, model: embedder.model)
                for index in 0..<30 {
                    let path = "\(collection)/doc\(index).md"
                    let access = Self.randomList(&generator)
                    let text = "shared words topic\(index % 3) \(tenant) \(collection) \(index)"
                    try await store.replaceDocument(
                        in: stored,
                        document: DocumentRecord(path: path, contentHash: "\(stored)\(path)", size: 1, modificationTime: 1, chunkCount: 1, access: access),
                        chunks: [Chunk(ordinal: 0, text: text, location: ChunkLocation(lineStart: 1, lineEnd: 1))], vectors: [embedder.vector(text)]
                    )
                    documents["\(stored)|\(path)"] = DocumentModel(tenant: tenant, collection: collection, path: path, access: access)
                }
                try await store.synchronizeIndex(of: stored)
            }
        }
        var keys: [KeyModel] = []
        let manager = KeyManager(store: store)
        for _ in 0..<12 {
            let tenant = Self.tenants[Int(generator.next() % 3)]
            let role = [Role.reader, .reader, .writer, .admin][Int(generator.next() % 4)]
            let collections: [String]? = generator.next() % 3 == 0 ? [Self.collections[Int(generator.next() % 2)]] : nil
            let principals = Self.randomList(&generator)?.filter { $0 != "public" } ?? []
            let issued = try await manager.create(
                KeySpecification(role: role, collections: collections, principals: principals), tenant: tenant, by: KeyManager.commandLine
            )
            keys.append(KeyModel(token: issued.token, tenant: tenant, role: role, collections: collections.map(Set.init), principals: Set(principals)))
        }
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder, cache: QueryCache(capacity: 256)), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), keyRing: KeyRing(store: store, mode: .required),
            logger: Logger(label: "test")
        )
        let (startKeys, startDocuments, startGenerator) = (keys, documents, generator)
        let checked = try await app.test(.router) { client -> Int in
            let keys = startKeys
            var documents = startDocuments
            var generator = startGenerator
            var checked = 0
            for step in 0..<1_500 {
                let key = keys[Int(generator.next() % UInt64(keys.count))]
                let collection = (Self.collections + ["missing"])[Int(generator.next() % 3)]
                let allowedCollection = collection != "missing" && (key.collections.map { $0.contains(collection) } ?? true)
                let stored = try Tenant.storeName(of: collection, in: key.tenant)
                let visibleHere = documents.filter { $0.key.hasPrefix("\(stored)|") && Self.visible($0.value, to: key) }
                let context = "seed \(seed), step \(step), tenant \(key.tenant), role \(key.role), principals \(key.principals.sorted())"
                switch generator.next() % 6 {
                case 0, 1:
                    // Search or query; the query's words repeat often, so the cache answers many.
                    let route = generator.next() % 2 == 0 ? "/search" : "/query"
                    let mode = ["dense", "lexical", "hybrid"][Int(generator.next() % 3)]
                    let body = #"{"query": "shared topic\#(generator.next() % 3)", "collection": "\#(collection)", "top_k": 8, "mode": "\#(mode)"}"#
                    let response = try await AuthenticationTests.request(client, .post, route, token: key.token, body: body)
                    guard allowedCollection else {
                        #expect(response.status == .notFound, "\(context): \(route) \(collection)")
                        continue
                    }
                    #expect(response.status == .ok, "\(context): \(route)")
                    let returned = try AuthenticationTests.strings(response, route == "/search" ? "hits" : "citations", "document")
                    for document in returned {
                        #expect(visibleHere["\(stored)|\(document)"] != nil, "LEAK \(context): \(route) returned \(document)")
                    }
                    if route == "/search", mode == "dense" {
                        #expect(returned.count == min(8, visibleHere.count), "\(context): too few hits")
                    }
                case 2:
                    let response = try await AuthenticationTests.request(client, .get, "/documents?collection=\(collection)", token: key.token)
                    guard allowedCollection else {
                        #expect(response.status == .notFound, "\(context): list \(collection)")
                        continue
                    }
                    let listed = Set(try AuthenticationTests.strings(response, "documents", "id"))
                    #expect(listed == Set(visibleHere.values.map(\.path)), "\(context): listing")
                case 3:
                    // Read a document of any tenant's collection by its path.
                    let target = Array(documents.values)[Int(generator.next() % UInt64(documents.count))]
                    let response = try await AuthenticationTests.request(
                        client, .get, "/documents/\(target.path)?collection=\(target.collection)", token: key.token
                    )
                    let exists = documents["\(try Tenant.storeName(of: target.collection, in: key.tenant))|\(target.path)"]
                    let expected = exists.map { Self.visible($0, to: key) } ?? false
                    #expect((response.status == .ok) == expected, "\(context): read \(target.path) → \(response.status)")
                case 4:
                    // Change who may see a document (writers and up), visible or not.
                    let target = Array(documents.values)[Int(generator.next() % UInt64(documents.count))]
                    let list = Self.randomList(&generator)
                    let json = list.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? "null"
                    let response = try await AuthenticationTests.request(
                        client, .put, "/documents/\(target.path)/access?collection=\(target.collection)", token: key.token, body: #"{"access": \#(json)}"#
                    )
                    let storedName = try Tenant.storeName(of: target.collection, in: key.tenant)
                    let own = documents["\(storedName)|\(target.path)"]
                    if key.role < .writer {
                        #expect(response.status == .forbidden, "\(context): reader changed access")
                    } else if let own, Self.visible(own, to: key) {
                        #expect(response.status == .ok, "\(context): change access")
                        if response.status == .ok { documents["\(storedName)|\(target.path)"]?.access = list }
                    } else {
                        #expect(response.status == .notFound, "\(context): changed what it may not see")
                    }
                default:
                    // Delete, rarely: writers and up, only what they may see.
                    guard generator.next() % 4 == 0 else { continue }
                    let target = Array(documents.values)[Int(generator.next() % UInt64(documents.count))]
                    let response = try await AuthenticationTests.request(
                        client, .delete, "/documents/\(target.path)?collection=\(target.collection)", token: key.token
                    )
                    let storedName = try Tenant.storeName(of: target.collection, in: key.tenant)
                    let own = documents["\(storedName)|\(target.path)"]
                    if key.role < .writer {
                        #expect(response.status == .forbidden, "\(context): reader deleted")
                    } else if let own, Self.visible(own, to: key) {
                        #expect(response.status == .ok, "\(context): delete")
                        if response.status == .ok { documents["\(storedName)|\(target.path)"] = nil }
                    } else {
                        #expect(response.status == .notFound, "\(context): deleted what it may not see")
                    }
                }
                checked += 1
            }
            return checked
        }
        #expect(checked > 1_000)
        await store.close()
    }
}

