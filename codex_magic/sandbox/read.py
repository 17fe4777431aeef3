"""Reading a sandboxed child's two pipes under caps (the parent's side of ``sandbox``).

The result pipe is written by the candidate's own process, so nothing on it is trusted:
at most ``n + 3`` lines and a fixed number of bytes are read, each line must be one of the
runner's messages with fields of the right types, a result may come once per example,
and anything else ends the read with a ``ProtocolError``: a "protocol error" verdict for
that candidate alone. The set-up pipe, closed before candidate code exists, says which
mode the child is confined in.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..runtime import interrupts

if TYPE_CHECKING:
    from .limits import Limits

_KINDS = {"example": ("i", "got", "exc"), "value": ("i", "value", "exc"),
          "syntax": ("detail",), "load": ("got", "exc"), "done": ()}


@dataclass
class ChildRun:
    messages: list[dict[str, Any]]
    timed_out: bool
    exit_code: int | None
    log: str
    seconds: float
    setup: list[dict[str, Any]] = field(default_factory=list)
    protocol_error: str = ""
    oom_killed: bool = False
    peak_bytes: int | None = None
    disk_full: bool = False

    @property
    def mode(self) -> str | None:
        modes = [m.get("mode") for m in self.setup if m.get("kind") in ("mode", "confined")]
        return modes[-1] if modes and isinstance(modes[-1], str) else None

    @property
    def refused(self) -> bool:
        """The child said the policy forbids running (or confining failed)."""
        return any(m.get("mode", "") is None for m in self.setup)

    @property
    def notes(self) -> list[str]:
        last = self.setup[-1].get("notes", []) if self.setup else []
        return [n for n in last if isinstance(n, str)]


class ProtocolError(Exception):
    pass


class Stream:
    """One pipe read under caps: at most ``max_bytes`` and ``max_messages`` lines."""

    def __init__(self, fd: int, max_bytes: int, max_messages: int) -> None:
        self.fd, self.max_bytes, self.max_messages = fd, max_bytes, max_messages
        self.buf, self.total, self.count, self.eof = b"", 0, 0, False

    def feed(self) -> list[dict[str, Any]]:
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
            if self.buf.strip():
                raise ProtocolError("a message without its line end")
            return []
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise ProtocolError(f"more than {self.max_bytes} bytes")
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        out = []
        for line in lines:
            self.count += 1
            if self.count > self.max_messages:
                raise ProtocolError(f"more than {self.max_messages} messages")
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError, MemoryError):
                raise ProtocolError("a message that is not JSON") from None
            if not isinstance(msg, dict):
                raise ProtocolError("a message that is not an object")
            out.append(msg)
        return out


def check_message(msg: dict[str, Any], n: int, seen: set[int]) -> None:
    kind = msg.get("kind")
    if kind not in _KINDS or set(msg) != {"kind", *_KINDS[kind]}:
        raise ProtocolError(f"an unknown message {str(kind)[:40]!r}")
    if "i" in msg:
        i = msg["i"]
        if type(i) is not int or not 0 <= i < n or i in seen:
            raise ProtocolError("an example number out of place")
        seen.add(i)
    for key in ("got", "detail"):
        if key in msg and not isinstance(msg[key], str):
            raise ProtocolError(f"a {key} that is not text")
    if "exc" in msg and msg["exc"] is not None and not isinstance(msg["exc"], str):
        raise ProtocolError("an exception that is not text")


def read_results(run: ChildRun, setup_fd: int, result_fd: int, proc: subprocess.Popen[bytes],
                 deadline: float, n: int, limits: Limits, workdir: str,
                 cancel: threading.Event | None = None) -> None:
    """Fill ``run`` from the two pipes until the results end, the deadline, or an error.

    An interrupt, or ``cancel``, ends it like the deadline: the caller kills and cleans up.
    """
    setup = Stream(setup_fd, 1 << 16, 8)
    per_message = 24 * limits.output_chars + 4096  # \\uXXXX escapes, twice the text
    results = Stream(result_fd, (n + 3) * per_message, n + 3)
    seen: set[int] = set()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or interrupts.requested() or (cancel is not None and cancel.is_set()):
                return
            fds = [s.fd for s in (setup, results) if not s.eof]
            if not fds:
                run.timed_out = False
                return
            ready, _, _ = select.select(fds, [], [], min(left, 0.05))
            if not ready and proc.poll() is not None and not select.select(fds, [], [], 0)[0]:
                run.timed_out = False
                return
            if run.mode in ("landlock", "limits") and disk_use(workdir) > 4 * limits.file_bytes:
                run.disk_full, run.timed_out = True, False  # not a tmpfs: the parent watches
                return
            if setup.fd in ready:
                run.setup += setup.feed()
            if results.fd in ready:
                for msg in results.feed():
                    check_message(msg, n, seen)
                    run.messages.append(msg)
                    if msg["kind"] == "done" and len(seen) != n:
                        raise ProtocolError("the end before every result")
                    if msg["kind"] in ("done", "syntax", "load"):
                        run.timed_out = False
                        return
    except ProtocolError as e:
        run.protocol_error = str(e)
        run.timed_out = False


def disk_use(path: str, max_entries: int = 5000) -> float:
    """Bytes under ``path`` (infinite beyond ``max_entries`` files: an inode flood)."""
    total, count, stack = 0, 0, [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    if count > max_entries:
                        return float("inf")
                    st = entry.stat(follow_symlinks=False)
                    total += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            pass
    return total


