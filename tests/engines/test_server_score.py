"""ServerEngine.score against a small HTTP server of this test's own: echo with log-probs where
the server gives them, one clear "not available" line where it does not."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from codex_magic.engines.server.engine import ServerEngine
from codex_magic.types import CodexError


def _reply(body: dict, mode: str) -> dict:
    text = body["prompt"]
    # One "token" per character, each with log-prob -(its offset) / 100.
    logprobs = {"tokens": [*text, "!"],
                "token_logprobs": [None, *(-i / 100 for i in range(1, len(text) + 1))],
                "text_offset": list(range(len(text) + 1))}
    if mode == "no-echo":  # llama-server: only what it wrote
        return {"choices": [{"text": "!", "index": 0, "logprobs": None}]}
    return {"choices": [{"text": text + "!", "index": 0, "logprobs": logprobs}]}


@pytest.fixture(params=["echo", "no-echo", "refuses"])
def server(request):
    mode = request.param
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, status, data):
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            self._json(200, {"data": [{"id": "m"}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            if mode == "refuses":
                self._json(400, {"error": {"message": "echo is not supported"}})
            else:
                self._json(200, _reply(body, mode))

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield mode, f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_scores_with_echo_or_says_it_cannot(server):
    mode, url, seen = server
    engine = ServerEngine(url)
    prompt = "ab"
    if mode != "echo":
        with pytest.raises(CodexError, match="scoring is not available through the server"):
            engine.score(prompt, ["cd"])
        return
    out = engine.score(prompt, ["cd", ("x", "yz"), ""])
    assert out[0].token_logprobs == (-0.02, -0.03)  # tokens at offsets 2, 3
    assert out[1].token_logprobs == (-0.03, -0.04)  # "x" is given, not scored
    assert out[2].token_logprobs == ()
    assert [b["prompt"] for b in seen] == ["abcd", "abxyz", "ab"]
    assert all(b["echo"] is True and b["logprobs"] == 1 and b["model"] == "m" for b in seen)
