"""A small real OpenAI-style HTTP server of the tests' own.

For what a real server will not do on demand: refuse the key, be busy, fail, answer
garbage or slowly, cut a stream short, die in the middle of a reply, answer n
choices at once or give no log-probs. It speaks HTTP/1.1 with chunked event
streams, as uvicorn and vLLM do.

    with FakeServer("busy") as fake:      # in a thread of the test
        ServerEngine(fake.url) ...
    python -m tests.fake_openai die PORT   # a process of its own, to be killed
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-coder"


def completion(seed: int) -> list[str]:
    """The tokens a choice drawn with ``seed`` writes: a body, then an unindented line."""
    return ["    ", "return", f" a + {seed % 7}", "\n", "print", "(1)\n"]


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str, port: int = 0, *, fails: int = 2, status: int = 429,
                 delay: float = 0.2, models: tuple[str, ...] = (MODEL,)) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.mode, self.fails, self.status, self.delay, self.models = \
            mode, fails, status, delay, models
        self.requests: list[dict[str, Any]] = []  # completions bodies, in arrival order
        self.headers_seen: list[dict[str, str]] = []
        self.active = self.max_active = self.disconnects = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.headers_seen.append(dict(self.headers))
        if srv.mode in ("401", "403"):
            return self.refuse()
        if srv.mode == "garbage":
            return self.send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        if srv.mode == "no-api" or not self.path.endswith("/models"):
            return self.json(404, {"detail": "Not Found"})
        self.json(200, {"object": "list", "data": [{"id": m, "object": "model"}
                                                   for m in srv.models]})

    def do_POST(self) -> None:
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            srv.requests.append(body)
            srv.headers_seen.append(dict(self.headers))
            srv.active += 1
            srv.max_active = max(srv.max_active, srv.active)
            number = len(srv.requests)
        try:
            self.answer(srv.mode, body, number)
        except (BrokenPipeError, ConnectionResetError):
            with srv.lock:
                srv.disconnects += 1
        finally:
            with srv.lock:
                srv.active -= 1

    def answer(self, mode: str, body: dict[str, Any], number: int) -> None:
        srv = self.server
        if mode in ("401", "403"):
            return self.refuse()
        if mode == "busy" and number <= srv.fails:
            return self.json(srv.status, {"error": {"message": "server busy"}},
                             {"Retry-After": "0"})
        if mode == "500":
            return self.json(500, {"error": {"message": "CUDA error: out of memory"}})
        if mode == "404":
            return self.json(404, {"error": {"message": f"The model `{body['model']}` does "
                                                        "not exist."}})
        if mode == "400" or (mode == "empty" and not body.get("stream")):
            return self.json(400, {"error": {"message": "This model's maximum context length "
                                                        "is 2048 tokens, however you requested "
                                                        "4000 tokens"}})
        if mode == "refuse-logprobs" and body.get("logprobs") is not None:
            return self.json(400, {"error": {"message": "logprobs are not supported"}})
        if mode == "garbage":
            return self.send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if mode == "no-choices":
            return self.json(200, {"id": "cmpl-1", "object": "text_completion"})
        if mode == "slow":
            time.sleep(srv.delay)
        n = 1 if mode in ("one", "cut", "trickle", "die", "empty") else int(body.get("n", 1))
        logprobs = body.get("logprobs") is not None and mode != "no-logprobs"
        choices = [completion(int(body.get("seed", 0)) + j) for j in range(n)]
        if not body.get("stream"):
            return self.json(200, {"object": "text_completion", "choices": [
                {"index": j, "text": "".join(toks), "finish_reason": "length",
                 "logprobs": {"tokens": toks, "token_logprobs": [-0.5] * len(toks)}
                 if logprobs else None} for j, toks in enumerate(choices)]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if mode == "empty":  # llama-cpp-python's stream for a prompt too long: nothing
            return self.chunk(b"")
        for step in range(10_000 if mode == "trickle" else len(choices[0])):
            for j, toks in enumerate(choices):
                tok = toks[step % len(toks)]
                lp: Any = {"tokens": [tok], "token_logprobs": [-0.25]}
                if mode == "chat-logprobs":  # llama-server's shape
                    lp = {"content": [{"id": 1, "token": tok, "logprob": -0.25, "bytes": []}]}
                self.event({"object": "text_completion", "choices": [{
                    "index": j, "text": tok, "finish_reason": None,
                    "logprobs": lp if logprobs else None}]})
            if mode == "die" and step == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "cut":
                break  # [DONE] before a finish_reason: llama-cpp-python, interrupted
            if mode in ("trickle", "die"):
                time.sleep(srv.delay)
        else:
            for j in range(len(choices)):
                self.event({"object": "text_completion", "choices": [
                    {"index": j, "text": "", "finish_reason": "length", "logprobs": None}]})
        self.chunk(b"data: [DONE]\n\n")
        self.chunk(b"")

    # -- writing ---------------------------------------------------------------------------------

    def refuse(self) -> None:
        # Echoes the key it was sent, as a careless server might: it must not reach a message.
        self.json(int(self.server.mode), {"error": {
            "message": f"invalid key {self.headers.get('Authorization', '(none)')}"}})

    def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def send(self, status: int, data: bytes, ctype: str,
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def event(self, obj: Any) -> None:
        self.chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    def chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


if __name__ == "__main__":
    server = FakeServer(sys.argv[1], int(sys.argv[2]))
    print("ready", flush=True)
    server.serve_forever()
