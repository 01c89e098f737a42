"""A stand-in for an OpenAI-compatible chat server, so that the console's `llm` answerer, its model
picker and the Admin view's usage chart have something real to show without a model.

It answers every `/v1/chat/completions` request with the first sentence of source [1] of the
prompt followed by `[1]`, streamed in a few pieces when asked to, and reports fixed token usage
(which `quarry serve` prices and counts per day: the usage chart's bars).
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "stub-chat"
# A question with this word is answered slowly, sixty sentences a quarter of a second apart: the
# Ask view's Stop button has something to stop.
SLOW_WORD = "slowly"
PROMPT_TOKENS = 120
COMPLETION_TOKENS = 30


def answer_for(messages):
    """The first sentence of the passage numbered [1] in the prompt, cited; else NOT_IN_SOURCES."""
    prompt = str(messages[-1].get("content", "")) if messages else ""
    match = re.search(r"^\[1\] \(.*?\)\n(.+?)(?:\n\n\[2\] \(|\n\nQuestion: |\Z)", prompt, re.S | re.M)
    if not match:
        return "NOT_IN_SOURCES"
    text = " ".join(match.group(1).split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].strip()
    return f"{sentence} [1]" if sentence else "NOT_IN_SOURCES"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self.send_json({"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self.send_json({"error": {"message": "not found"}}, status=404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self.send_json({"error": {"message": "not found"}}, status=404)
            return
        text = answer_for(body.get("messages", []))
        usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                 "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
        model = body.get("model", MODEL)
        if not body.get("stream"):
            self.send_json({"model": model, "usage": usage, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        slow = SLOW_WORD in json.dumps(body.get("messages", []))
        if slow:
            pieces = [f"Part {i} of a long answer [1]. " for i in range(60)]
        else:
            words = text.split(" ")
            pieces = [" ".join(words[i:i + 4]) + (" " if i + 4 < len(words) else "") for i in range(0, len(words), 4)]
        try:
            for piece in pieces:
                self.event({"model": model, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                if slow:
                    time.sleep(0.25)
            self.event({"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self.event({"model": model, "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # Quarry stopped listening: its client went away

    def event(self, obj):
        self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
        self.wfile.flush()

    def send_json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start():
    """Starts the stub on a free loopback port in a daemon thread; returns (server, base_url)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
