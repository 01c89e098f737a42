import Foundation
import QuarryAccess
import QuarryCore
import Testing

@Suite struct AuditRecordTests {
    let writer = Principal(tenant: "acme", keyID: "0123456789abcdef", role: .writer)

    func deletion(query: String? = nil, mode: AuditQueryMode = .off) -> AuditRecord {
        AuditRecord(
            at: Date(timeIntervalSince1970: 1_764_754_502.418), requestID: "req-1", principal: writer, method: "DELETE",
            route: "/collections/{name}/documents/{id}", collection: "docs", documents: ["a.md", "b/c.md"], outcome: .ok, status: 200,
            query: query, queryMode: mode
        )
    }

    @Test func canonicalEncodingIsExactAndStable() throws {
        let record = deletion()
        let expected = """
            {"at":"2025-12-03T09:35:02.418Z","collection":"docs","documents":["a.md","b/c.md"],"key_id":"0123456789abcdef",\
            "kind":"request","method":"DELETE","outcome":"ok","request_id":"req-1","role":"writer",\
            "route":"/collections/{name}/documents/{id}","status":200,"tenant":"acme","v":1}
            """
        #expect(try record.canonicalJSON() == expected)
        #expect(try deletion().canonicalJSON() == expected)
        let decoded = try AuditRecord(canonicalJSON: expected)
        #expect(decoded == record)
        #expect(try decoded.canonicalJSON() == expected)
    }

    @Test func timeIsKeptToTheMillisecond() throws {
        let record = AuditRecord(
            at: Date(timeIntervalSince1970: 1_764_754_502.418_7), requestID: nil, principal: nil, method: "GET", route: "/search",
            outcome: .denied, status: 401
        )
        #expect(record.at == Date(timeIntervalSince1970: 1_764_754_502.419))
        let json = try record.canonicalJSON()
        #expect(json == #"{"at":"2025-12-03T09:35:02.419Z","kind":"request","method":"GET","outcome":"denied","route":"/search","status":401,"v":1}"#)
        #expect(try AuditRecord(canonicalJSON: json) == record)
    }

    @Test func pruneRecordsNameWhatWasRemoved() throws {
        let anchor = String(repeating: "ab", count: 32)
        let record = AuditRecord.prune(throughSeq: 41, anchorHash: anchor, at: Date(timeIntervalSince1970: 0))
        let json = try record.canonicalJSON()
        #expect(json == #"{"anchor_hash":"\#(anchor)","at":"1970-01-01T00:00:00.000Z","kind":"prune","pruned_through":41,"v":1}"#)
        let decoded = try AuditRecord(canonicalJSON: json)
        #expect(decoded.kind == .prune && decoded.prunedThrough == 41 && decoded.anchorHash == anchor && decoded.tenant == nil)
    }

    @Test func queriesAreKeptAsConfigured() throws {
        let query = "what is WAL mode?"
        let sha = "b2f16c371b3a3c5ae9a999e83a2dc6eb1593c2962086a582827f2df1a388e36c"

        let full = deletion(query: query, mode: .full)
        #expect(full.query == query && full.querySHA256 == nil)
        #expect(try full.canonicalJSON().contains(#""query":"what is WAL mode?""#))

        let hashed = deletion(query: query, mode: .hash)
        #expect(hashed.query == nil && hashed.querySHA256 == sha)
        let hashedJSON = try hashed.canonicalJSON()
        #expect(hashedJSON.contains(#""query_sha256":"\#(sha)""#))
        #expect(!hashedJSON.contains("WAL"))

        let off = deletion(query: query, mode: .off)
        #expect(off.query == nil && off.querySHA256 == nil)
        #expect(try off.canonicalJSON() == deletion().canonicalJSON())
        let absent = AuditQueryMode.hash.form(of: nil)
        #expect(absent.text == nil && absent.sha256 == nil)
    }

    @Test func otherTextIsNotARecord() {
        for text in ["", "{}", #"{"kind":"request","at":"yesterday","v":1}"#, #"{"kind":"nope","at":"1970-01-01T00:00:00.000Z"}"#] {
            #expect(throws: QuarryError.self) { try AuditRecord(canonicalJSON: text) }
        }
    }

    @Test func chainLinkIsSHA256OfPreviousNewlineRecord() {
        #expect(
            AuditHash.link(previousHash: String(repeating: "0", count: 64), record: #"{"v":1}"#)
                == "61394fa3b853eefe1f0ebff595e588ef80828805be08f9709311b94c96c47857"
        )
    }
}

@Suite struct AuditTimestampTests {
    @Test func writesAndReadsTheOneForm() {
        let cases: [(Double, String)] = [
            (0, "1970-01-01T00:00:00.000Z"), (951_782_400, "2000-02-29T00:00:00.000Z"), (-0.001, "1969-12-31T23:59:59.999Z"),
            (1_764_754_502.418, "2025-12-03T09:35:02.418Z"), (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
        ]
        for (seconds, text) in cases {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(AuditTimestamp.string(date) == text)
            #expect(AuditTimestamp.date(text) == AuditTimestamp.rounded(date))
        }
    }

    @Test func refusesOtherForms() {
        for text in ["2021-02-29T00:00:00.000Z", "2021-02-28T00:00:00Z", "2021-02-28T24:00:00.000Z", "2021-02-28 00:00:00.000Z", "x"] {
            #expect(AuditTimestamp.date(text) == nil, "\(text)")
        }
    }
}
