import Foundation
import QuarryTestSupport
import Testing

/// An OpenAI-compatible chat server in a process of its own (Python's `http.server`), so that a
/// test can SIGKILL it in the middle of a streamed answer, as a crashed or OOM-killed LLM server
/// goes. It streams `ChatStub.goodAnswer` word by word, one chunk every `interval` seconds, and
/// appends `sent N` to its log after each chunk so that the test knows how far it got.
final class ChatStubProcess {
    static let script = #"""
        import http.server, json, sys, time

        ANSWER = sys.argv[2]
        INTERVAL = float(sys.argv[3])
        PORT = int(sys.argv[4])
        LOG = open(sys.argv[1], "a", buffering=1)

        class Handler(http.server.BaseHTTPRequestHandler):
            # HTTP/1.1 with a chunked body, as llama.cpp's and vLLM's servers stream: a connection
            # that closes before the last chunk is a broken stream, not the end of one.
            protocol_version = "HTTP/1.1"

            def chunk(self, data):
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
                self.wfile.flush()

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                model = body.get("model", "stub")
                words = ANSWER.split(" ")
                if not body.get("stream"):
                    reply = {"id": "c", "object": "chat.completion", "model": model,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}]}
                    data = json.dumps(reply).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                LOG.write("stream\n")
                for index, word in enumerate(words):
                    piece = word if index == 0 else " " + word
                    chunk = {"id": "c", "object": "chat.completion.chunk", "model": model,
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    LOG.write("sent %d\n" % (index + 1))
                    time.sleep(INTERVAL)
                end = {"id": "c", "object": "chat.completion.chunk", "model": model,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.chunk(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
        LOG.write("port %d\n" % server.server_address[1])
        server.serve_forever()
        """#

    let process: Process
    let log: URL
    /// `http://127.0.0.1:PORT/v1`.
    let baseURL: URL

    /// Starts the stub (`python3`) and waits until it listens.
    /// - Parameter port: the port to listen on (that of a stub killed before: the LLM server
    ///   coming back); 0 picks a free one.
    init(in directory: URL, interval: Double = 0.1, port: Int = 0) async throws {
        let script = directory.appendingPathComponent("chat-stub.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        log = directory.appendingPathComponent("chat-stub-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, log.path, ChatStub.goodAnswer, String(interval), String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        var port: String?
        while port == nil {
            port = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix("port ") }?.split(separator: " ").last
                .map(String.init)
            if port != nil { break }
            guard process.isRunning, ContinuousClock.now < deadline else {
                if process.isRunning { process.terminate() }
                throw ChaosFailure("the chat stub did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        baseURL = URL(string: "http://127.0.0.1:\(port!)/v1")!
    }

    /// Chunks sent so far in the current stream.
    var chunksSent: Int {
        let lines = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
        return lines.last { $0.hasPrefix("sent ") }.flatMap { Int($0.dropFirst(5)) } ?? 0
    }

    /// Kills it with SIGKILL and waits for it to end.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
