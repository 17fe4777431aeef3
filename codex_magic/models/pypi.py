"""Finding wheels on the package indexes pip is configured with.

The index URLs are pip's own: ``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL`` and
pip's configuration files (read by ``pip config list`` in a subprocess, so
every file pip reads is honoured), else ``https://pypi.org/simple/``. The main
index is asked first, then the extra ones; a project missing from one index is
no error while another has it. A project page is PEP 691 JSON where the index
serves it, else PEP 503 HTML (with ``#sha256=`` fragments); ``file://`` indexes
are read from disk (a folder's ``index.html``), as pip reads them.

Only pure-Python wheels of the exact version are taken: an sdist would have to
run its build backend, which a model download must never do. Nothing here
downloads a wheel (``_mirror`` does) or imports anything from one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from .hub import USER_AGENT

PYPI = "https://pypi.org/simple/"
TIMEOUT = 30.0  # seconds for one index page
PIP_TIMEOUT = 20.0  # seconds for `pip config list`
_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
           "text/html;q=0.1")
# pip's precedence: the global section, then a command's, then the environment (pip lists
# PIP_* variables as ":env:"); later wins.
_SECTIONS = ("global", "download", "install", ":env:")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Wheel:
    """A wheel file on an index: where it is, and what the index says it is."""

    project: str
    filename: str
    url: str
    sha256: str | None  # from the index link, when it gives one
    size: int | None  # from a PEP 691 index, when it gives one
    index: str


class IndexFailure(Exception):
    """An index could not be read (not a missing project: that is None)."""


def normalize(project: str) -> str:
    """PEP 503's form of a project name, as in its index URL."""
    return re.sub(r"[-_.]+", "-", project).lower()


def index_urls(env: Mapping[str, str] | None = None,
               pip_config: Callable[[], str] | None = None) -> list[str]:
    """The index URLs pip would use, the main one first (duplicates dropped)."""
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    text = (pip_config or _pip_config_list)()
    found: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        section, dot, name = key.strip().rpartition(".")
        if not sep or not dot or section not in _SECTIONS:
            continue
        found[(section, name.lower().replace("_", "-"))] = _unquote(raw.strip())
    for section in _SECTIONS:
        for name in ("index-url", "extra-index-url"):
            if (section, name) in found:
                values[name] = found[(section, name)]
    for name, var in (("index-url", "PIP_INDEX_URL"), ("extra-index-url", "PIP_EXTRA_INDEX_URL")):
        if env.get(var):
            values[name] = env[var]
    urls = [values.get("index-url", "").strip() or PYPI, *values.get("extra-index-url", "").split()]
    out: list[str] = []
    for url in urls:
        url = url.rstrip("/") + "/"
        if url not in out:
            out.append(url)
    return out


def _pip_config_list() -> str:
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                              capture_output=True, text=True, timeout=PIP_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""  # no pip here: the environment variables and PyPI
    return done.stdout if done.returncode == 0 else ""


def _unquote(raw: str) -> str:
    """pip prints each value as a Python literal ('...')."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    return value if isinstance(value, str) else raw


def shown(url: str) -> str:
    """A URL for a message: without a user or password in it."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# -- reading a project page ---------------------------------------------------------------


def project_files(index: str, project: str) -> list[dict[str, Any]] | None:
    """The files an index lists for a project ({filename, url, sha256, size}), or None when
    the index has no such project. Raises ``IndexFailure`` when the index cannot be read."""
    url = urllib.parse.urljoin(index, normalize(project) + "/")
    if urllib.parse.urlsplit(url).scheme == "file":
        return _local_page(url)
    req = urllib.request.Request(url, headers={"Accept": _ACCEPT, "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            body = resp.read()
            kind = resp.headers.get("Content-Type", "")
            url = resp.geturl()  # after redirects: links are relative to it
    except urllib.error.HTTPError as e:
        if e.code in (404, 410):
            return None
        raise IndexFailure(f"HTTP {e.code} from {shown(url)}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise IndexFailure(f"cannot reach {shown(index)} ({reason})") from None
    try:
        if "json" in kind:
            return _json_files(url, json.loads(body))
        return _html_files(url, body.decode("utf-8", "replace"))
    except (ValueError, TypeError, KeyError) as e:
        raise IndexFailure(f"{shown(url)} is not a simple index page ({e})") from None


def _local_page(url: str) -> list[dict[str, Any]] | None:
    path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    page = path / "index.html" if path.is_dir() else path
    try:
        text = page.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IndexFailure(f"cannot read {page}: {e.strerror or e}") from None
    return _html_files(page.parent.as_uri() + "/", text)


def _json_files(url: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for f in data["files"]:
        sha = (f.get("hashes") or {}).get("sha256")
        size = f.get("size")
        out.append({"filename": f["filename"], "url": urllib.parse.urljoin(url, f["url"]),
                    "sha256": sha if isinstance(sha, str) and _SHA256.fullmatch(sha) else None,
                    "size": size if isinstance(size, int) else None})
    return out


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "base" and href:
            self.base = urllib.parse.urljoin(self.base, href)
        elif tag == "a" and href:
            self.links.append(urllib.parse.urljoin(self.base, href))


def _html_files(url: str, text: str) -> list[dict[str, Any]]:
    parser = _Links(url)
    parser.feed(text)
    out = []
    for link in parser.links:
        bare, _, fragment = link.partition("#")
        m = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", fragment)
        name = urllib.parse.unquote(urllib.parse.urlsplit(bare).path.rsplit("/", 1)[-1])
        out.append({"filename": name, "url": bare,
                    "sha256": m.group(1).lower() if m else None, "size": None})
    return out


# -- finding one wheel --------------------------------------------------------------------


def find_wheel(indexes: list[str], project: str, version: str,
               down: dict[str, str]) -> Wheel | str:
    """The project's pure-Python wheel of ``version`` from the first index that has it, or
    why none could be taken. ``down`` collects the indexes that cannot be read (they are
    not asked again)."""
    stem = re.sub(r"[-_.]+", "_", project).lower() + "-" + re.escape(version)
    wheel = re.compile(stem + r"(-\d[^-]*)?-(py3|py2\.py3)-none-any\.whl", re.IGNORECASE)
    sdist = re.compile(r"(.+)-" + re.escape(version) + r"\.(tar\.gz|zip)", re.IGNORECASE)
    sdists = []
    for index in indexes:
        if index in down:
            continue
        try:
            files = project_files(index, project)
        except IndexFailure as e:
            down[index] = str(e)
            continue
        for f in files or []:
            if wheel.fullmatch(f["filename"]):
                return Wheel(project, f["filename"], f["url"], f["sha256"], f["size"], index)
            m = sdist.fullmatch(f["filename"])
            if m and normalize(m.group(1)) == normalize(project):
                sdists.append(shown(index))
    if sdists:
        return (f"{project} {version} is only an sdist on {sdists[0]} (building it would run "
                "its code; the mirror takes wheels only)")
    asked = ", ".join(shown(i) for i in indexes)
    return f"{project} {version} is on none of the indexes pip uses ({asked})"
