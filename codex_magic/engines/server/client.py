"""HTTP to an OpenAI-compatible inference server: requests, event streams, retries, errors.

Only the standard library (``http.client``), so the engine adds no dependency and
controls each socket: a ``Call`` is one request that another thread may abort at
any moment (an interrupt, a candidate that already ended), which shuts its socket
down and wakes the thread reading it. Every failure becomes a ``CodexError`` of
one line that says what happened and what to do. The API key travels in the
``Authorization`` header only; it is held in a ``Secret`` whose repr hides it, and
is cut out of anything the server says before that reaches a message.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ...runtime import interrupts
from ...types import CodexError

_T = TypeVar("_T")

CONNECT_TIMEOUT = 10.0  # seconds to open a connection
READ_TIMEOUT = 120.0  # longest silence inside a reply (a busy server may queue a request)
# Seconds before each retry of a 429 or 503 reply; a larger Retry-After (up to 30 s) wins.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
_MAX_RETRY_AFTER = 30.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class Secret:
    """The API key: sent to the server, never shown (repr, str, messages)."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret(None)"

    __str__ = __repr__


@dataclass(frozen=True)
class ServerURL:
    """Where the server's OpenAI API is: ``http(s)://host[:port]/v1``."""

    scheme: str
    host: str
    port: int
    base: str  # the path before /completions and /models, e.g. "/v1"
    shown: str  # the URL as the user gave it, for messages

    def __str__(self) -> str:
        return self.shown


def parse_url(url: str) -> ServerURL:
    """The server's base URL, or a one-line error; a URL without a path means ``/v1``."""
    example = "such as http://localhost:8000/v1"
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise CodexError(f"--server must be an http:// or https:// URL {example}") from None
    if parts.username is not None or parts.password is not None:
        # Not echoed: the user name and password are credentials.
        raise CodexError("--server must not hold a user name or password: put the API key "
                         "in the CODEX_MAGIC_API_KEY environment variable instead")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CodexError(f"--server must be an http:// or https:// URL {example}, "
                         f"got {url.strip()[:200]!r}")
    base = parts.path.rstrip("/") or "/v1"
    shown = urllib.parse.urlunsplit((parts.scheme, parts.netloc, base, "", ""))
    port = port or (443 if parts.scheme == "https" else 80)
    return ServerURL(parts.scheme, parts.hostname, port, base, shown)


class Aborted(Exception):
    """The call was aborted from another thread; nothing to report."""


class Call:
    """One HTTP exchange, which any thread may abort: its socket is shut down at once."""

    def __init__(self) -> None:
        self.aborted = threading.Event()
        self.done = False  # an event stream ended with its [DONE] message
        self.received = False  # some event (or JSON reply) arrived
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def abort(self) -> None:
        self.aborted.set()
        with self._lock:
            conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
            except OSError:
                pass

    def close(self) -> None:
        self._attach(None)

    def _attach(self, conn: http.client.HTTPConnection | None) -> None:
        with self._lock:
            old, self._conn = self._conn, conn
        if old is not None:
            old.close()
        if conn is not None and self.aborted.is_set():
            self.abort()


class Client:
    """Requests to one server, with its API key, timeouts and retries."""

    def __init__(self, url: ServerURL, key: Secret, *, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT,
                 retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
        self.url, self.key = url, key
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.retry_delays = tuple(retry_delays)

    def __repr__(self) -> str:
        return f"Client({self.url.shown!r})"

    # -- the two ways of asking ----------------------------------------------------------

    def get_json(self, call: Call, path: str) -> Any:
        return self._json_reply(call, *self._open(call, "GET", path, None))

    def post_json(self, call: Call, path: str, body: dict[str, Any]) -> Any:
        return self._json_reply(call, *self._open(call, "POST", path, body))

    def stream(self, call: Call, path: str, body: dict[str, Any]) -> Iterator[Any]:
        """The JSON objects of a server-sent event stream, until its ``[DONE]``.

        ``call.done`` tells whether it ended so; a server that answers with plain JSON
        (it ignored ``stream``) yields that one object. Ends quietly when aborted.
        """
        resp, ctype = self._open(call, "POST", path, body)
        try:
            if "text/event-stream" not in ctype:
                yield self._json_reply(call, resp, ctype)
                call.done = True
                return
            data: list[str] = []
            while True:
                raw = self._read(call, resp.readline)
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif data and not line:  # a blank line (or the end) ends an event
                    payload, data = "\n".join(data), []
                    if payload.strip() == "[DONE]":
                        call.done = True
                        return
                    call.received = True
                    yield self._parse(payload, "event")
                if not raw:
                    return  # the server closed the stream without [DONE]
        finally:
            resp.close()

    # -- below them -------------------------------------------------------------------------

    def _open(self, call: Call, method: str, path: str, body: dict[str, Any] | None
              ) -> tuple[http.client.HTTPResponse, str]:
        """A 200 reply and its content type; retries 429 and 503, raises the rest."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json, text/event-stream"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.key:
            headers["Authorization"] = f"Bearer {self.key.reveal()}"
        started = time.monotonic()
        for attempt in range(len(self.retry_delays) + 1):
            conn = self._connection(call)
            self._read(call, lambda c=conn: c.request(method, self.url.base + path, payload,
                                                      headers))
            resp = self._read(call, conn.getresponse)
            ctype = (resp.getheader("Content-Type") or "").lower()
            if resp.status == 200:
                return resp, ctype
            text = self._read(call, lambda r=resp: r.read(65536)).decode("utf-8", "replace")
            resp.close()
            if resp.status not in (429, 503) or attempt == len(self.retry_delays):
                if resp.status in (429, 503) and attempt:
                    raise CodexError(
                        f"the server at {self.url} is busy (HTTP {resp.status}) and still was "
                        f"after {attempt + 1} tries over {time.monotonic() - started:.0f} s: "
                        "try again later, or lower --samples")
                raise StatusError(resp.status, self.server_message(text, ctype), self.url,
                                  path, bool(self.key))
            delay = max(self.retry_delays[attempt], _retry_after(resp))
            if call.aborted.wait(delay):
                raise Aborted
        raise AssertionError("unreachable")

    def _connection(self, call: Call) -> http.client.HTTPConnection:
        if call.aborted.is_set():
            raise Aborted
        cls = http.client.HTTPSConnection if self.url.scheme == "https" else \
            http.client.HTTPConnection
        conn = cls(self.url.host, self.url.port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except BaseException as e:
            conn.close()
            if call.aborted.is_set():
                raise Aborted from None
            raise self._network_error(e, connecting=True) from None
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)
        call._attach(conn)
        return conn

    def _read(self, call: Call, step: Any) -> Any:
        """``step()``, with network failures turned into one-line errors (or ``Aborted``)."""
        try:
            result = step()
        except (OSError, http.client.HTTPException) as e:
            if call.aborted.is_set():
                raise Aborted from None
            raise self._network_error(e, connecting=False) from None
        if call.aborted.is_set():
            raise Aborted
        return result

    def _json_reply(self, call: Call, resp: http.client.HTTPResponse, ctype: str) -> Any:
        try:
            text = self._read(call, resp.read).decode("utf-8", "replace")
        finally:
            resp.close()
        call.received = True
        return self._parse(text, "reply")

    def _parse(self, text: str, what: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            start = self.key.redact(_CONTROL.sub(" ", text.strip()))[:80]
            raise CodexError(
                f"the server at {self.url} sent a {what} that is not JSON ({start!r}...): "
                "--server must be the /v1 base URL of an OpenAI-compatible server") from None

    def server_message(self, text: str, ctype: str = "") -> str:
        """What the server says went wrong, as one short line without the API key."""
        msg: Any = None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            err = data.get("error", data)
            msg = err.get("message") or err.get("detail") if isinstance(err, dict) else err
            msg = msg or data.get("detail") or data.get("message")
        elif "html" not in ctype and not text.lstrip().startswith("<"):
            msg = text
        if not isinstance(msg, str):
            msg = json.dumps(msg) if msg else ""
        line = " ".join(_CONTROL.sub(" ", self.key.redact(msg)).split())
        return line if len(line) <= 240 else line[:237] + "..."

    def _network_error(self, e: BaseException, *, connecting: bool) -> CodexError:
        url = self.url
        if isinstance(e, ConnectionRefusedError):
            return CodexError(f"nothing answers at {url} (connection refused): start the "
                              "server, or check the --server URL and port")
        if isinstance(e, socket.gaierror):
            return CodexError(f"cannot find the host {url.host!r} of {url}: check the "
                              "--server URL")
        if isinstance(e, TimeoutError):
            if connecting:
                return CodexError(f"{url} accepted no connection within "
                                  f"{self.connect_timeout:g} s: the server or its machine is "
                                  "down or unreachable")
            return CodexError(f"the server at {url} sent nothing for {self.read_timeout:g} s: "
                              "it is overloaded or stuck; try again, or lower --samples")
        if isinstance(e, ssl.SSLError):
            return CodexError(f"TLS with {url} failed ({e.reason or e}): check the https URL "
                              "and the server's certificate")
        if isinstance(e, (ConnectionError, http.client.HTTPException)):
            return CodexError(f"the server at {url} closed the connection in the middle of a "
                              "reply: it stopped or crashed; check it and run again")
        why = getattr(e, "strerror", None) or type(e).__name__
        return CodexError(f"cannot reach the server at {url}: {why}")


class StatusError(CodexError):
    """An HTTP error status, in one line with what to do."""

    def __init__(self, status: int, message: str, url: ServerURL, path: str,
                 has_key: bool) -> None:
        self.status, self.message = status, message
        said = f": {message.rstrip('.')}" if message else ""
        if status in (401, 403):
            todo = ("set CODEX_MAGIC_API_KEY to a key it accepts" if has_key else
                    "it needs an API key: set the CODEX_MAGIC_API_KEY environment variable")
            text = f"the server at {url} refused the request (HTTP {status}{said}): {todo}"
        elif status == 404:
            text = (f"{url}{path} does not exist (HTTP 404{said}): --server must be the "
                    "server's /v1 base URL, e.g. http://host:8000/v1")
        elif status in (400, 413, 422):
            hint = ""
            if re.search(r"context|too long|maximum.*length|exceed", message, re.I):
                hint = ": shorten the cell or lower --max-tokens"
            text = f"the server refused the request (HTTP {status}{said}){hint}"
        elif status >= 500:
            text = f"the server at {url} failed (HTTP {status}{said}): see the server's log"
        else:
            text = f"the server at {url} answered HTTP {status}{said}"
        super().__init__(text)


def _retry_after(resp: http.client.HTTPResponse) -> float:
    try:
        return min(max(float(resp.getheader("Retry-After") or 0), 0.0), _MAX_RETRY_AFTER)
    except ValueError:  # an HTTP date: use our own delay
        return 0.0


def wait_for(ask: Callable[[Call], _T]) -> _T:
    """``ask(call)`` in a worker thread, while this thread watches for an interrupt."""
    call = Call()
    value: list[_T] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            value.append(ask(call))
        except BaseException as e:  # carried to the caller's thread
            error.append(e)

    worker = threading.Thread(target=work, name="codex-server", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            interrupts.check()
            worker.join(0.05)
    finally:
        call.abort()
        worker.join(1.0)
        call.close()
    if error:
        raise KeyboardInterrupt if isinstance(error[0], Aborted) else error[0]
    return value[0]
