"""What a server says about a model file before it is downloaded.

The Hugging Face hub answers ``/resolve/`` with a redirect whose headers carry
the file's LFS sha256 (``X-Linked-Etag``), size (``X-Linked-Size``) and the
commit the revision resolved to (``X-Repo-Commit``); ``probe`` reads them with
a HEAD request that stops at that redirect, so ``_download`` can compare a
registry value with the hub's before a byte is downloaded.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT = 60.0  # seconds without an answer
USER_AGENT = "codex-magic (urllib)"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Remote:
    """What the server says about a file before it is downloaded."""

    sha256: str | None  # the hub's X-Linked-Etag, when it is a sha256
    size: int | None
    commit: str | None  # X-Repo-Commit: the commit the revision resolved to



def probe(url: str, timeout: float = TIMEOUT) -> Remote:
    """HEAD ``url``, stopping at the redirect that carries the hub's headers (a plain
    server's redirects are followed to learn the size)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    commit = None
    for _ in range(10):
        req = urllib.request.Request(url, method="HEAD", headers={
            "User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        try:
            with opener.open(req, timeout=timeout) as resp:
                remote = _remote(resp.headers, sized=True)
                return Remote(remote.sha256, remote.size, remote.commit or commit)
        except urllib.error.HTTPError as e:
            if e.code in (400, 403, 405, 501):  # no HEAD here (e.g. a URL signed for GET
                return Remote(None, None, commit)  # only): the GET will tell
            if not 300 <= e.code < 400:
                raise
            remote = _remote(e.headers, sized=False)
            commit = remote.commit or commit
            location = e.headers.get("Location", "")
            if remote.sha256 or not location:
                return Remote(remote.sha256, remote.size, commit)
            url = urllib.parse.urljoin(url, location)
    return Remote(None, None, commit)


def _remote(headers: Any, sized: bool) -> Remote:
    etag = (headers.get("X-Linked-Etag") or "").removeprefix("W/").strip('"').lower()
    size = headers.get("X-Linked-Size") or (headers.get("Content-Length") if sized else None)
    return Remote(etag if _SHA256.fullmatch(etag) else None,
                  int(size) if size and size.isdigit() else None,
                  headers.get("X-Repo-Commit") or None)
