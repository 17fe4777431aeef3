"""GGUF files the user already has: the Hugging Face cache, LM Studio, Ollama.

Each is used where it lies, never copied, under a name that says where it
comes from: ``hf:ORG/REPO/FILE``, ``lmstudio:PUBLISHER/REPO/FILE``,
``ollama:NAME:TAG`` (``ollama:NAMESPACE/NAME:TAG`` outside the library). Where
a store names its files by content (the hub cache's LFS blobs, Ollama's
digests), that sha256 is kept so ``codex-magic models verify`` can check it.

Where each store is looked for, as those tools themselves decide it:
``HF_HUB_CACHE`` (else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``);
``OLLAMA_MODELS`` (else ``~/.ollama/models``); LM Studio's
``~/.lmstudio/models`` and older ``~/.cache/lm-studio/models``, or
``CODEX_MAGIC_LMSTUDIO_MODELS``. ``CODEX_MAGIC_DISCOVER=0`` turns it all off.
Nothing here reads more than a GGUF file's first four bytes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

GGUF_MAGIC = b"GGUF"
PREFIXES = {"hf:": "Hugging Face cache", "lmstudio:": "LM Studio", "ollama:": "Ollama"}
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")
_SHA256 = re.compile(r"[0-9a-f]{64}")
OLLAMA_MODEL = "application/vnd.ollama.image.model"
OLLAMA_HOST = "registry.ollama.ai"


@dataclass(frozen=True)
class Found:
    """A GGUF file found in another tool's store."""

    name: str
    path: Path
    source: str  # "Hugging Face cache", "LM Studio", "Ollama"
    sha256: str | None  # from the store's content address, when it has one
    size: int


def enabled() -> bool:
    return os.environ.get("CODEX_MAGIC_DISCOVER", "1").strip().lower() not in ("0", "false",
                                                                               "no", "off")


def hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):  # the older name
        return Path(os.environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def lmstudio_dirs() -> list[Path]:
    if os.environ.get("CODEX_MAGIC_LMSTUDIO_MODELS"):
        return [Path(os.environ["CODEX_MAGIC_LMSTUDIO_MODELS"]).expanduser()]
    return [Path("~/.lmstudio/models").expanduser(),
            Path("~/.cache/lm-studio/models").expanduser()]


def ollama_dir() -> Path:
    return Path(os.environ.get("OLLAMA_MODELS") or "~/.ollama/models").expanduser()


def discover() -> list[Found]:
    """Every GGUF model found in the three stores, by name."""
    if not enabled():
        return []
    found = [*_hf(hf_cache()), *_lmstudio(), *_ollama(ollama_dir())]
    return sorted({f.name: f for f in found}.values(), key=lambda f: f.name)


def find(name: str) -> Found | None:
    """The file a discovery name stands for, looking only in that name's store."""
    if not enabled():
        return None
    if name.startswith("ollama:"):
        wanted = name if ":" in name[len("ollama:"):] else name + ":latest"
        return next((f for f in _ollama(ollama_dir()) if f.name == wanted), None)
    stores = {"hf:": lambda: _hf(hf_cache()), "lmstudio:": _lmstudio}
    for prefix, scan in stores.items():
        if name.startswith(prefix):
            return next((f for f in scan() if f.name == name), None)
    return None


def where(prefix: str) -> str:
    """Where a store is looked for, for messages."""
    if prefix == "hf:":
        return str(hf_cache())
    if prefix == "ollama:":
        return str(ollama_dir())
    return " or ".join(str(d) for d in lmstudio_dirs())


# -- the stores --------------------------------------------------------------------------


def _hf(cache: Path) -> Iterator[Found]:
    """``models--ORG--REPO/snapshots/<commit>/<file>``: the ``main`` snapshot first."""
    for repo in _dirs(cache):
        if not repo.name.startswith("models--"):
            continue
        repo_id = repo.name[len("models--"):].replace("--", "/")
        main = _read(repo / "refs" / "main")
        snapshots = _dirs(repo / "snapshots")
        snapshots.sort(key=lambda s: (s.name != main, -_mtime(s)))
        seen: set[str] = set()
        for snap in snapshots:
            for path in sorted(snap.rglob("*.gguf")):
                rel = path.relative_to(snap).as_posix()
                if rel in seen or not _is_model_file(path):
                    continue
                seen.add(rel)
                blob = os.path.basename(os.path.realpath(path))
                yield Found(f"hf:{repo_id}/{rel}", path, PREFIXES["hf:"],
                            blob if _SHA256.fullmatch(blob) else None, _size(path))


def _lmstudio() -> Iterator[Found]:
    for root in lmstudio_dirs():
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.gguf")):
            rel = path.relative_to(root)
            if len(rel.parts) <= 4 and _is_model_file(path):
                yield Found(f"lmstudio:{rel.as_posix()}", path, PREFIXES["lmstudio:"], None,
                            _size(path))


def _ollama(models: Path) -> Iterator[Found]:
    """``manifests/<host>/<namespace>/<name>/<tag>``, whose model layer names a blob."""
    manifests = models / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(manifests.rglob("*")):
        rel = manifest.relative_to(manifests).parts
        if len(rel) != 4 or not manifest.is_file():
            continue
        host, namespace, model, tag = rel
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
            digest = next(la["digest"] for la in layers if la.get("mediaType") == OLLAMA_MODEL)
        except (OSError, ValueError, StopIteration, KeyError, TypeError, AttributeError):
            continue
        algo, _, hexdigest = str(digest).partition(":")
        blob = models / "blobs" / f"{algo}-{hexdigest}"
        if algo != "sha256" or not _SHA256.fullmatch(hexdigest) or not _is_gguf(blob):
            continue
        where = (model if host == OLLAMA_HOST and namespace == "library"
                 else f"{namespace}/{model}" if host == OLLAMA_HOST
                 else f"{host}/{namespace}/{model}")
        yield Found(f"ollama:{where}:{tag}", blob, PREFIXES["ollama:"], hexdigest, _size(blob))


# -- small helpers -----------------------------------------------------------------------


def _is_model_file(path: Path) -> bool:
    """A loadable GGUF: not a vision projector, not a later part of a split model."""
    if path.name.lower().startswith("mmproj"):
        return False
    split = _SPLIT.search(path.name)
    return (split is None or split.group(1) == "00001") and _is_gguf(path)


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _dirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
