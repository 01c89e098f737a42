import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import QuarryAccess
import QuarryCore
import QuarryIngest
import QuarryRetrieval
import QuarryServer
import QuarryStore
import QuarryTestSupport
import Testing

/// The randomized isolation test, continued through ingest: every collection comes from a
/// folder whose Markdown files (front matter `access:`) and `.quarry-access` files carry access
/// lists; between requests the folders are rewritten and re-ingested with `POST /ingest` (some
/// with a default list, some cancelled and run again), random keys follow and cancel the jobs,
/// and queries are also streamed. The model applies `FolderAccess`'s rules at each ingest: a
/// document's own list, else the nearest `.quarry-access`, else the ingest's default, else the
/// list it had. Every document's text carries a marker, and no response may hold the marker of a
/// document the key may not see (or that is gone).
extension IsolationTests {
    /// A folder on disk: the source of one tenant's collection.
    struct FolderModel {
        struct File {
            /// The list in its front matter; `nil` when it names none.
            var access: [String]?
            /// Bumped at each rewrite, so that its content (and hash) changes.
            var version: Int
        }

        var tenant: String
        var collection: String
        /// Its path below the ingest root.
        var name: String
        /// Its Markdown files, by path below the folder.
        var files: [String: File] = [:]
        /// Its `.quarry-access` files' lists, by the subfolder ("" for the top) they are in.
        var accessFiles: [String: [String]] = [:]

        /// The list an ingest with `fallback` as its default gives the file at `path`, or `nil`
        /// when it gives none (and the document keeps the one it has).
        func declaredAccess(of path: String, default fallback: [String]?) -> [String]? {
            if let own = files[path]?.access { return own }
            var components = path.split(separator: "/").dropLast().map(String.init)
            while true {
                if let list = accessFiles[components.joined(separator: "/")] { return list }
                if components.isEmpty { return fallback }
                components.removeLast()
            }
        }
    }

    /// An ingest job that was started, whose it is and where it wrote.
    struct JobModel {
        var id: String
        var tenant: String
        var collection: String
    }

    static let filePool = ["top.md", "notes.md", "a/one.md", "a/two.md", "a/b/deep.md", "a/b/deeper.md", "c/three.md", "c/four.md"]
    static let subfolders = ["", "a", "a/b", "c"]
    /// `IngestJobs` keeps the last this many finished jobs.
    static let retainedJobs = 200

    /// The marker in the text of `path` in `tenant`'s `collection`: fixed width, so that no
    /// marker is part of another.
    static func marker(_ tenant: String, _ collection: String, _ path: String) -> String {
        let indices = [tenants.firstIndex(of: tenant), collections.firstIndex(of: collection), filePool.firstIndex(of: path)]
        return "zz" + indices.map { String($0 ?? 9) }.joined() + "zz"
    }

    /// Writes the folder's file at `path` as the model has it, with a modification time of its
    /// own (a rewrite within the same clock tick must still be seen as a change).
    static func write(_ folder: FolderModel, _ path: String, root: URL, clock: inout Int) throws {
        guard let file = folder.files[path] else { return }
        var text = ""
        if let access = file.access {
            let list = file.version % 2 == 0 ? access.joined(separator: ", ") : "[" + access.joined(separator: ", ") + "]"
            text += "---\ntitle: Version \(file.version)\naccess: \(list)\n---\n"
        } else if file.version % 3 == 0 {
            text += "---\ntitle: Version \(file.version)\n---\n"
        }
        let index = filePool.firstIndex(of: path) ?? 0
        text += "shared words topic\(index % 3) \(marker(folder.tenant, folder.collection, path)) version \(file.version)\n"
        let url = root.appendingPathComponent(folder.name).appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        clock += 1
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(clock))], ofItemAtPath: url.path)
    }

    /// Writes (or, for `nil`, removes) a `.quarry-access` file of the folder.
    static func writeAccessFile(_ folder: FolderModel, _ subfolder: String, root: URL) throws {
        var url = root.appendingPathComponent(folder.name)
        if !subfolder.isEmpty { url.appendPathComponent(subfolder) }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        url.appendPathComponent(".quarry-access")
        if let list = folder.accessFiles[subfolder] {
            try Data(("# who may read\n" + list.joined(separator: "\n") + "\n").utf8).write(to: url)
        } else if FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.removeItem(at: url)
        }
    }

    /// Changes one thing in a folder at random: a file's list or text, a `.quarry-access` file,
    /// a file added or removed.
    static func mutate(_ folder: inout FolderModel, root: URL, clock: inout Int, _ generator: inout SplitMix64) throws {
        let path = filePool[Int(generator.next() % UInt64(filePool.count))]
        switch generator.next() % 4 {
        case 0:
            // A new list in the front matter (or none), or a new file.
            let version = (folder.files[path]?.version ?? 0) + 1
            folder.files[path] = FolderModel.File(access: generator.next() % 2 == 0 ? randomList(&generator) : nil, version: version)
            try write(folder, path, root: root, clock: &clock)
        case 1:
            let subfolder = subfolders[Int(generator.next() % UInt64(subfolders.count))]
            folder.accessFiles[subfolder] = randomList(&generator)
            try writeAccessFile(folder, subfolder, root: root)
        case 2:
            // The text changes, the front matter stays.
            guard folder.files[path] != nil else { return }
            folder.files[path]?.version += 1
            try write(folder, path, root: root, clock: &clock)
        default:
            guard folder.files[path] != nil, folder.files.count > 2 else { return }
            folder.files[path] = nil
            try FileManager.default.removeItem(at: root.appendingPathComponent(folder.name).appendingPathComponent(path))
        }
    }

    /// The model after `folder` was ingested with the default `fallback`: the collection holds
    /// exactly the folder's files, each with the list the folder declares, else the one it had.
    static func ingested(_ folder: FolderModel, default fallback: [String]?, into documents: inout [String: DocumentModel]) throws {
        let stored = try Tenant.storeName(of: folder.collection, in: folder.tenant)
        var next = documents.filter { !$0.key.hasPrefix("\(stored)|") }
        for path in folder.files.keys {
            next["\(stored)|\(path)"] = DocumentModel(
                tenant: folder.tenant, collection: folder.collection, path: path,
                access: folder.declaredAccess(of: path, default: fallback) ?? documents["\(stored)|\(path)"]?.access
            )
        }
        documents = next
    }

    /// The markers `key` must never receive: those of every document it may not see, or that
    /// is not in the store.
    static func forbiddenMarkers(for key: KeyModel, _ documents: [String: DocumentModel]) throws -> [String] {
        var markers: [String] = []
        for tenant in tenants {
            for collection in collections {
                let stored = try Tenant.storeName(of: collection, in: tenant)
                for path in filePool where !(documents["\(stored)|\(path)"].map { visible($0, to: key) } ?? false) {
                    markers.append(marker(tenant, collection, path))
                }
            }
        }
        return markers
    }

    /// The documents named in a streamed answer's events: every citation of `retrieval`, each
    /// `citation`; the events' names; the `done` event's collection (`nil` without one) and
    /// whether the result cache answered.
    static func streamed(_ response: TestResponse) throws -> (documents: [String], names: [String], done: String?, cached: Bool) {
        var documents: [String] = []
        var names: [String] = []
        var done: String?
        var cached = false
        for event in try LLMAnswerTests.events(response) {
            names.append(event.name)
            switch event.name {
            case "retrieval": documents += (event.data["citations"] as? [[String: Any]] ?? []).compactMap { $0["document"] as? String }
            case "citation": documents += [event.data["document"] as? String ?? "?"]
            case "done":
                done = event.data["collection"] as? String
                cached = event.data["cached"] as? Bool ?? false
            default: break
            }
        }
        return (documents, names, done, cached)
    }

    /// A JSON array of strings, or `null`.
    static func json(_ list: [String]?) -> String {
        list.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? "null"
    }

    @Test(arguments: StoreBackend.allCases)
    func ingestsJobsAndStreamsNeverLeak(_ backend: StoreBackend) async throws {
        let seed: UInt64 = 20_261_203
        var generator = SplitMix64(seed: seed)
        let fixture = try StoreFixture(backend)
        defer { fixture.cleanUp() }
        let store = try await fixture.open()
        let embedder = HashingEmbedder(dimension: 32)
        let root = fixture.directory.url.appendingPathComponent("folders", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let jobs = IngestJobs(store: store, embedder: embedder, roots: [root], logger: Logger(label: "test"))

        // One folder per tenant's collection, ingested once before the requests start.
        var clock = 0
        var folders: [FolderModel] = []
        var documents: [String: DocumentModel] = [:]
        for tenant in Self.tenants {
            for collection in Self.collections {
                var folder = FolderModel(tenant: tenant, collection: collection, name: "f\(folders.count)")
                try FileManager.default.createDirectory(at: root.appendingPathComponent(folder.name), withIntermediateDirectories: true)
                for path in Self.filePool where generator.next() % 4 != 0 {
                    folder.files[path] = FolderModel.File(access: generator.next() % 3 == 0 ? Self.randomList(&generator) : nil, version: 1)
                    try Self.write(folder, path, root: root, clock: &clock)
                }
                for subfolder in Self.subfolders where generator.next() % 4 == 0 {
                    folder.accessFiles[subfolder] = Self.randomList(&generator)
                    try Self.writeAccessFile(folder, subfolder, root: root)
                }
                let job = try jobs.start(path: folder.name, collection: try Tenant.storeName(of: collection, in: tenant))
                await jobs.wait(job.id)
                #expect(jobs.status(job.id)?.state == .succeeded, "\(tenant) \(collection): \(jobs.status(job.id)?.error ?? "")")
                try Self.ingested(folder, default: nil, into: &documents)
                folders.append(folder)
            }
        }
        var keys: [KeyModel] = []
        let manager = KeyManager(store: store)
        for _ in 0..<12 {
            let tenant = Self.tenants[Int(generator.next() % 3)]
            let role = [Role.reader, .writer, .writer, .admin][Int(generator.next() % 4)]
            let collections: [String]? = generator.next() % 3 == 0 ? [Self.collections[Int(generator.next() % 2)]] : nil
            let principals = Self.randomList(&generator)?.filter { $0 != "public" } ?? []
            let issued = try await manager.create(
                KeySpecification(role: role, collections: collections, principals: principals), tenant: tenant, by: KeyManager.commandLine
            )
            keys.append(KeyModel(token: issued.token, tenant: tenant, role: role, collections: collections.map(Set.init), principals: Set(principals)))
        }
        let app = buildApplication(
            retriever: Retriever(store: store, embedder: embedder, cache: QueryCache(capacity: 256)), store: store,
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0), jobs: jobs,
            keyRing: KeyRing(store: store, mode: .required), logger: Logger(label: "test")
        )
        let start = (keys: keys, documents: documents, folders: folders, generator: generator, clock: clock)
        let tally = try await app.test(.router) { client -> [String: Int] in
            let keys = start.keys
            var (documents, folders, generator, clock) = (start.documents, start.folders, start.generator, start.clock)
            var jobModels: [JobModel] = []
            var tally: [String: Int] = [:]
            for step in 0..<1_500 {
                let key = keys[Int(generator.next() % UInt64(keys.count))]
                let collection = (Self.collections + ["missing"])[Int(generator.next() % 3)]
                let allowedCollection = collection != "missing" && (key.collections.map { $0.contains(collection) } ?? true)
                let stored = try Tenant.storeName(of: collection, in: key.tenant)
                let visibleHere = documents.filter { $0.key.hasPrefix("\(stored)|") && Self.visible($0.value, to: key) }
                let context = "seed \(seed), step \(step), tenant \(key.tenant), role \(key.role), collections \(key.collections?.sorted() ?? []), principals \(key.principals.sorted())"
                let forbidden = try Self.forbiddenMarkers(for: key, documents)
                func expectNoLeak(_ response: TestResponse, _ what: String) {
                    let body = String(decoding: response.body.readableBytesView, as: UTF8.self)
                    for marker in forbidden where body.contains(marker) {
                        Issue.record("LEAK \(context): \(what) holds \(marker)")
                    }
                }
                let operation = generator.next() % 13
                switch operation {
                case 0, 1:
                    // Search or query; the queries repeat, so the result cache answers many.
                    let route = generator.next() % 2 == 0 ? "/search" : "/query"
                    let mode = ["dense", "lexical", "hybrid"][Int(generator.next() % 3)]
                    let body = #"{"query": "shared topic\#(generator.next() % 3)", "collection": "\#(collection)", "top_k": 8, "mode": "\#(mode)"}"#
                    let response = try await AuthenticationTests.request(client, .post, route, token: key.token, body: body)
                    expectNoLeak(response, route)
                    guard allowedCollection else {
                        #expect(response.status == .notFound, "\(context): \(route) \(collection)")
                        break
                    }
                    #expect(response.status == .ok, "\(context): \(route)")
                    let returned = try AuthenticationTests.strings(response, route == "/search" ? "hits" : "citations", "document")
                    for document in returned {
                        #expect(visibleHere["\(stored)|\(document)"] != nil, "LEAK \(context): \(route) returned \(document)")
                    }
                    if route == "/search", mode == "dense" {
                        #expect(returned.count == min(8, visibleHere.count), "\(context): \(returned.count) hits of \(visibleHere.count)")
                    }
                    if try AuthenticationTests.json(response)["cached"] as? Bool == true { tally["cached", default: 0] += 1 }
                case 2, 3:
                    // A streamed query: every document any event names must be visible.
                    let mode = ["dense", "lexical", "hybrid"][Int(generator.next() % 3)]
                    let answer = generator.next() % 3 == 0 ? "none" : "extractive"
                    let body = #"{"query": "shared topic\#(generator.next() % 3)", "collection": "\#(collection)", "top_k": 8, "mode": "\#(mode)", "answer": "\#(answer)", "stream": true}"#
                    let response = try await AuthenticationTests.request(client, .post, "/query", token: key.token, body: body)
                    expectNoLeak(response, "stream")
                    guard allowedCollection else {
                        #expect(response.status == .notFound, "\(context): stream \(collection)")
                        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                        break
                    }
                    #expect(response.status == .ok, "\(context): stream")
                    #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true, "\(context): stream")
                    let events = try Self.streamed(response)
                    #expect(events.names.first == "retrieval" && events.names.last == "done" && !events.names.contains("error"), "\(context): \(events.names)")
                    #expect(events.done == collection, "\(context): done names \(events.done ?? "nothing")")
                    for document in events.documents {
                        #expect(visibleHere["\(stored)|\(document)"] != nil, "LEAK \(context): stream named \(document)")
                    }
                    tally["stream", default: 0] += 1
                    if events.cached { tally["cached", default: 0] += 1 }
                case 4:
                    // The listing holds exactly the visible documents, each with its list.
                    let response = try await AuthenticationTests.request(client, .get, "/documents?collection=\(collection)", token: key.token)
                    expectNoLeak(response, "listing")
                    guard allowedCollection else {
                        #expect(response.status == .notFound, "\(context): list \(collection)")
                        break
                    }
                    let listed = try #require(try AuthenticationTests.json(response)["documents"] as? [[String: Any]])
                    var lists: [String: [String]?] = [:]
                    for entry in listed { lists[entry["id"] as? String ?? "?"] = .some(entry["access"] as? [String]) }
                    #expect(Set(lists.keys) == Set(visibleHere.values.map(\.path)), "\(context): listing")
                    for (path, list) in lists {
                        let expected = visibleHere["\(stored)|\(path)"]?.access
                        #expect(list == expected, "\(context): \(path) listed with \(String(describing: list)), the model says \(String(describing: expected))")
                    }
                    let names = try AuthenticationTests.strings(
                        try await AuthenticationTests.request(client, .get, "/collections", token: key.token), "collections", "name"
                    )
                    #expect(Set(names) == Set(Self.collections.filter { key.collections?.contains($0) ?? true }), "\(context): collections")
                case 5:
                    // Read a document by path, in any collection name.
                    let path = Self.filePool[Int(generator.next() % UInt64(Self.filePool.count))]
                    let response = try await AuthenticationTests.request(client, .get, "/documents/\(path)?collection=\(collection)", token: key.token)
                    expectNoLeak(response, "read \(path)")
                    let expected = documents["\(stored)|\(path)"].map { Self.visible($0, to: key) } ?? false
                    #expect((response.status == .ok) == expected, "\(context): read \(collection) \(path) → \(response.status)")
                case 6, 7:
                    // Change a document's list (writers and up), or delete it (rarely).
                    let path = Self.filePool[Int(generator.next() % UInt64(Self.filePool.count))]
                    let deletes = operation == 7
                    if deletes, generator.next() % 3 != 0 { continue }
                    let list = deletes ? nil : Self.randomList(&generator)
                    let response = try await AuthenticationTests.request(
                        client, deletes ? .delete : .put, deletes ? "/documents/\(path)?collection=\(collection)" : "/documents/\(path)/access?collection=\(collection)",
                        token: key.token, body: deletes ? nil : #"{"access": \#(Self.json(list))}"#
                    )
                    expectNoLeak(response, deletes ? "delete" : "put access")
                    if key.role < .writer {
                        #expect(response.status == .forbidden, "\(context): a reader wrote")
                    } else if let own = documents["\(stored)|\(path)"], Self.visible(own, to: key) {
                        #expect(response.status == .ok, "\(context): \(deletes ? "delete" : "change access of") \(path)")
                        if response.status == .ok {
                            if deletes { documents["\(stored)|\(path)"] = nil } else { documents["\(stored)|\(path)"]?.access = list }
                        }
                    } else {
                        #expect(response.status == .notFound, "\(context): wrote \(collection) \(path), which it may not see")
                    }
                case 8, 9:
                    // Ingest the tenant's folder, sometimes with a default list; sometimes the
                    // job is cancelled at once, and then run again.
                    guard collection != "missing" else { continue }
                    let folder = folders[(Self.tenants.firstIndex(of: key.tenant) ?? 0) * Self.collections.count + (Self.collections.firstIndex(of: collection) ?? 0)]
                    let fallback = generator.next() % 3 == 0 ? Self.randomList(&generator) : nil
                    let cancels = generator.next() % 4 == 0
                    let body = #"{"path": "\#(folder.name)", "collection": "\#(collection)", "access": \#(Self.json(fallback))}"#
                    var response = try await AuthenticationTests.request(client, .post, "/ingest", token: key.token, body: body)
                    if key.role < .writer {
                        #expect(response.status == .forbidden, "\(context): a reader ingested")
                        break
                    }
                    guard allowedCollection else {
                        #expect(response.status == .notFound, "\(context): ingested into \(collection)")
                        break
                    }
                    for attempt in 0..<2 {
                        #expect(response.status == .accepted, "\(context): ingest")
                        let id = try #require(try AuthenticationTests.json(response)["job_id"] as? String)
                        jobModels.append(JobModel(id: id, tenant: key.tenant, collection: collection))
                        if cancels, attempt == 0 {
                            let cancelled = try await AuthenticationTests.request(client, .delete, "/jobs/\(id)", token: key.token)
                            // 409 when the job ended before the cancel arrived (it then succeeded).
                            #expect(cancelled.status == .accepted || cancelled.status == .conflict, "\(context): cancel")
                        }
                        await jobs.wait(id)
                        let status = try AuthenticationTests.json(try await AuthenticationTests.request(client, .get, "/jobs/\(id)", token: key.token))
                        let state = status["state"] as? String
                        #expect(state == "succeeded" || (cancels && attempt == 0 && state == "cancelled"), "\(context): job \(status)")
                        // A job cancelled half way wrote part of the folder: the same ingest
                        // again brings the collection to where one whole ingest would have.
                        guard state == "cancelled" else { break }
                        tally["cancelled", default: 0] += 1
                        response = try await AuthenticationTests.request(client, .post, "/ingest", token: key.token, body: body)
                    }
                    try Self.ingested(folder, default: fallback, into: &documents)
                    tally["ingest", default: 0] += 1
                case 10:
                    // Follow or cancel a job: the tenant's own in the key's collections, else 404.
                    guard !jobModels.isEmpty else { continue }
                    let index = Int(generator.next() % UInt64(jobModels.count))
                    let unknown = generator.next() % 8 == 0
                    let job = jobModels[index]
                    let id = unknown ? "no-such-job-\(step)" : job.id
                    let deletes = generator.next() % 2 == 0
                    let response = try await AuthenticationTests.request(client, deletes ? .delete : .get, "/jobs/\(id)", token: key.token)
                    let body = String(decoding: response.body.readableBytesView, as: UTF8.self)
                    for tenant in Self.tenants where tenant != Tenant.default {
                        #expect(!body.contains("\"\(tenant)/"), "LEAK \(context): job \(id) names a store collection: \(body)")
                    }
                    let retained = index >= jobModels.count - Self.retainedJobs
                    if key.role < .writer {
                        #expect(response.status == .forbidden, "\(context): a reader saw job \(id)")
                    } else if !unknown, retained, job.tenant == key.tenant, key.collections?.contains(job.collection) ?? true {
                        // Every job here has ended: it is read, and a cancel is refused as too late.
                        #expect(response.status == (deletes ? .conflict : .ok), "\(context): job \(id)")
                        if !deletes {
                            let status = try AuthenticationTests.json(response)
                            #expect(status["id"] as? String == id && status["collection"] as? String == job.collection, "\(context): job \(status)")
                            #expect(["succeeded", "cancelled"].contains(status["state"] as? String ?? ""), "\(context): job \(status)")
                        }
                    } else {
                        #expect(response.status == .notFound, "\(context): job \(id) of \(job.tenant) \(job.collection)")
                    }
                    tally["job", default: 0] += 1
                default:
                    // Change a folder on disk; the store follows at its next ingest.
                    let index = Int(generator.next() % UInt64(folders.count))
                    try Self.mutate(&folders[index], root: root, clock: &clock, &generator)
                    continue
                }
                tally["checked", default: 0] += 1
            }
            return tally
        }
        #expect(tally["checked", default: 0] > 1_000 && tally["ingest", default: 0] > 50 && tally["stream", default: 0] > 100, "\(tally)")
        #expect(tally["job", default: 0] > 50 && tally["cached", default: 0] > 20, "\(tally)")
        await store.close()
    }
}
