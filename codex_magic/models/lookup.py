"""The lookup of a ``--model`` value to a GGUF file, and every model known by name.

``--model`` takes a registry name (``models/registry.json``), the name of a
model pulled from a URL, a discovered model (``hf:…``, ``ollama:…``,
``lmstudio:…``: see ``discover``) or a path. Resolving never touches the
network: only ``codex-magic models pull`` downloads (``store.pull``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import CodexError
from .registry import check_gguf, default_model_path, entry_paths, find_entry, models_dir, registry


@dataclass(frozen=True)
class ModelChoice:
    name: str  # registry name, or the file name for a plain path
    path: Path
    entry: dict[str, Any] | None  # the registry entry, when there is one


def resolve(model: str | None) -> ModelChoice:
    """The GGUF file for a ``--model`` value, or a one-line error saying how to get one."""
    if model is None or model == "" or model == registry()["default"]:
        entry = find_entry(registry()["default"])
        return ModelChoice(entry["name"] if entry else "default", default_model_path(), entry)
    entry = find_entry(model)
    if entry is not None:
        paths = entry_paths(entry)
        missing = [p for p in paths if not p.is_file()]
        if missing:
            what = "is not downloaded" if len(missing) == len(paths) else \
                f"is incomplete ({missing[0].name} is missing)"
            raise CodexError(f"model {model!r} {what}: run `codex-magic models pull {model}` "
                             f"(or %codex_models pull {model}), or pass --model /path/to/file.gguf")
        return ModelChoice(model, check_gguf(paths[0]), entry)
    if model.startswith(("hf:", "ollama:", "lmstudio:")):
        from . import discover

        found = discover.find(model)
        if found is None:
            prefix = model.split(":", 1)[0] + ":"
            raise CodexError(f"no model {model!r} in {discover.PREFIXES[prefix]} "
                             f"({discover.where(prefix)}): `codex-magic models` lists those found")
        return ModelChoice(model, check_gguf(found.path), None)
    from .store import pulled

    record = pulled(model)
    if record is not None:
        return ModelChoice(model, check_gguf(models_dir() / record["file"]), None)
    path = Path(model).expanduser()
    looks_like_path = os.sep in model or model.endswith(".gguf") or path.exists()
    if not looks_like_path:
        names = ", ".join(e["name"] for e in registry()["models"])
        raise CodexError(f"unknown model {model!r}: give a GGUF file path, a name from "
                         f"`codex-magic models`, or one of: {names}")
    return ModelChoice(path.name, check_gguf(path), None)


def list_models() -> list[dict[str, Any]]:
    """Every model known by name, with its state: the registry's, pulled and discovered.

    Each has ``name``, ``status`` (present, missing or corrupt), ``installed``,
    ``verified`` (its sha256 was checked since it last changed), ``size``,
    ``licence``, ``code_model`` (None when unknown), ``source`` and ``path``.
    Nothing is hashed here (``codex-magic models verify`` does that).
    """
    from . import discover
    from .store import pulled_models, state

    out = []
    default = registry()["default"]
    for entry in registry()["models"]:
        status, verified = state(entry)
        paths = entry_paths(entry)
        out.append({
            "name": entry["name"], "description": entry["description"],
            "licence": entry["licence"], "code_model": entry["code_model"],
            "status": status, "verified": verified, "default": entry["name"] == default,
            "installed": status == "present" or bool(entry.get("package")),
            "size": sum(f["size"] or 0 for f in entry["files"]) or None,
            "file": entry["files"][0]["file"], "parts": len(entry["files"]),
            "source": "PyPI package" if entry.get("package") else f"hub: {entry['repo']}",
            "path": str(paths[0]) if status != "missing" else None,
        })
    for record in pulled_models():
        status, verified = state(record)
        out.append({"name": record["name"], "description": record["url"],
                    "licence": "?", "code_model": None, "status": status,
                    "verified": verified, "default": False, "installed": status == "present",
                    "size": record["size"], "file": record["file"], "parts": 1,
                    "source": "pulled from a URL", "path": str(models_dir() / record["file"])})
    for found in discover.discover():
        out.append({"name": found.name, "description": str(found.path), "licence": "?",
                    "code_model": None, "status": "present", "verified": False,
                    "default": False, "installed": True, "size": found.size,
                    "file": found.path.name, "parts": 1, "source": found.source,
                    "path": str(found.path)})
    return out
