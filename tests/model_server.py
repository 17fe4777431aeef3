"""A real HTTP server on 127.0.0.1 for the download tests.

It serves files from memory with the behaviours a model download meets: HTTP
``Range`` (206, 416), a connection cut half-way, 404, no ``Content-Length``,
and the Hugging Face hub's ``/resolve/`` redirect whose headers carry the LFS
sha256 (``X-Linked-Etag``), size and commit. It records every request, so a test
can see the ``Range`` a resumed download sent.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class ModelServer:
    files: dict[str, bytes] = field(default_factory=dict)  # path -> body
    # path of a /resolve/ URL -> the headers its redirect carries (sha256, size, commit)
    hub: dict[str, dict[str, str]] = field(default_factory=dict)
    cut_at: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before a cut
    cuts_left: int = 0  # how many more answers to cut
    no_length: set[str] = field(default_factory=set)
    content_type: dict[str, str] = field(default_factory=dict)
    head_status: dict[str, int] = field(default_factory=dict)  # path -> HEAD's answer
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                owner._answer(self, head=True)

            def do_GET(self) -> None:
                owner._answer(self, head=False)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def ranges(self) -> list[str]:
        return [r.range for r in self.requests if r.range]

    def gets(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET"]

    # -- answering ------------------------------------------------------------------------

    def _answer(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = h.path.split("?", 1)[0]
        self.requests.append(Request(h.command, path, h.headers.get("Range")))
        if path in self.hub:  # the hub: a redirect carrying the file's LFS facts
            facts = self.hub[path]
            h.send_response(302)
            h.send_header("Location", self.url("/cdn" + path))
            for name, key in (("X-Linked-Etag", "sha256"), ("X-Linked-Size", "size"),
                              ("X-Repo-Commit", "commit")):
                if facts.get(key):
                    h.send_header(name, f'"{facts[key]}"' if key == "sha256" else facts[key])
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        path = path.removeprefix("/cdn")
        if head and path in self.head_status:
            h.send_response(self.head_status[path])
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        body = self.files.get(path)
        if body is None:
            h.send_response(404)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", "9")
            h.end_headers()
            if not head:
                h.wfile.write(b"not found")
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", h.headers.get("Range") or "")
        if m:
            start = int(m.group(1))
            if start >= len(body):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(body)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            h.send_response(200)
        h.send_header("Content-Type", self.content_type.get(path, "application/octet-stream"))
        h.send_header("Accept-Ranges", "bytes")
        if path not in self.no_length:
            h.send_header("Content-Length", str(len(body) - start))
        h.end_headers()
        if head:
            return
        data = body[start:]
        if path in self.cut_at and self.cuts_left > 0:
            self.cuts_left -= 1
            h.wfile.write(data[:max(0, self.cut_at[path] - start)])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.wfile.write(data)
