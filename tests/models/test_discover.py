"""Discovery of GGUF files the user already has, on folder trees laid out as the Hugging Face
hub cache, LM Studio and Ollama lay them out, holding real (random-weight) GGUF files."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from codex_magic.frontends.cli import main
from codex_magic.models import discover as _discover
from codex_magic.models.lookup import resolve
from codex_magic.types import CodexError

COMMIT_OLD = "1" * 40
COMMIT_MAIN = "2" * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def weights(tiny_model: Path) -> bytes:
    return tiny_model.read_bytes()


def hf_file(cache: Path, repo: str, commit: str, rel: str, data: bytes) -> Path:
    """A file as huggingface_hub stores it: a blob named by its etag, linked from a snapshot."""
    root = cache / ("models--" + repo.replace("/", "--"))
    blob = root / "blobs" / sha(data)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = root / "snapshots" / commit / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    return link


def ollama_model(models: Path, manifest: tuple[str, ...], data: bytes | None,
                 media: str = _discover.OLLAMA_MODEL) -> None:
    digest = sha(data or b"missing")
    layers = [{"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "c" * 64,
               "size": 10},
              {"mediaType": media, "digest": f"sha256:{digest}", "size": len(data or b"")}]
    path = models / "manifests" / Path(*manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schemaVersion": 2, "layers": layers}))
    if data is not None:
        (models / "blobs").mkdir(parents=True, exist_ok=True)
        (models / "blobs" / f"sha256-{digest}").write_bytes(data)


@pytest.fixture
def stores(tmp_path, monkeypatch, weights):
    """The three stores, each with models, and with what must not be listed."""
    other = weights[:-1] + bytes([weights[-1] ^ 1])  # another (still loadable) GGUF
    hf = tmp_path / "hf"
    hf_file(hf, "Org/Coder-GGUF", COMMIT_MAIN, "coder-q4_k_m.gguf", weights)
    hf_file(hf, "Org/Coder-GGUF", COMMIT_OLD, "coder-q4_k_m.gguf", other)  # older revision
    hf_file(hf, "Org/Coder-GGUF", COMMIT_OLD, "old-only.gguf", other)
    hf_file(hf, "Org/Coder-GGUF", COMMIT_MAIN, "split/big-00001-of-00002.gguf", weights)
    hf_file(hf, "Org/Coder-GGUF", COMMIT_MAIN, "split/big-00002-of-00002.gguf", other)
    hf_file(hf, "Org/Coder-GGUF", COMMIT_MAIN, "mmproj-f16.gguf", weights)
    hf_file(hf, "Org/Coder-GGUF", COMMIT_MAIN, "README.md", b"# not a model")
    (hf / "models--Org--Coder-GGUF" / "refs").mkdir()
    (hf / "models--Org--Coder-GGUF" / "refs" / "main").write_text(COMMIT_MAIN)
    (hf / "models--Org--Coder-GGUF" / "blobs" / "x.incomplete").write_bytes(b"GGUF partial")
    hf_file(hf, "Org/NotGGUF", COMMIT_MAIN, "fake.gguf", b"PK\x03\x04 a zip file")
    (hf / "datasets--Org--Data" / "snapshots").mkdir(parents=True)

    lms = tmp_path / "lmstudio"
    (lms / "lmstudio-community" / "Coder-GGUF").mkdir(parents=True)
    (lms / "lmstudio-community" / "Coder-GGUF" / "Coder-Q4_K_M.gguf").write_bytes(weights)
    (lms / "lmstudio-community" / "Coder-GGUF" / "notes.txt").write_text("hi")

    ollama = tmp_path / "ollama"
    ollama_model(ollama, ("registry.ollama.ai", "library", "tinycoder", "latest"), weights)
    ollama_model(ollama, ("registry.ollama.ai", "library", "tinycoder", "q8"), other)
    ollama_model(ollama, ("registry.ollama.ai", "someone", "thing", "v1"), weights)
    ollama_model(ollama, ("hf.co", "Org", "Coder-GGUF", "Q4_K_M"), weights)
    ollama_model(ollama, ("registry.ollama.ai", "library", "gone", "latest"), None)  # no blob
    ollama_model(ollama, ("registry.ollama.ai", "library", "embed", "latest"), weights,
                 media="application/vnd.ollama.image.adapter")  # no model layer

    monkeypatch.setenv("HF_HUB_CACHE", str(hf))
    monkeypatch.setenv("CODEX_MAGIC_LMSTUDIO_MODELS", str(lms))
    monkeypatch.setenv("OLLAMA_MODELS", str(ollama))
    monkeypatch.setenv("CODEX_MAGIC_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("CODEX_MAGIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CODEX_MAGIC_DISCOVER", raising=False)
    return {"hf": hf, "lms": lms, "ollama": ollama, "other": other}


def test_every_store_is_found_by_name(stores, weights):
    found = {f.name: f for f in _discover.discover()}
    assert sorted(found) == [
        "hf:Org/Coder-GGUF/coder-q4_k_m.gguf",
        "hf:Org/Coder-GGUF/old-only.gguf",
        "hf:Org/Coder-GGUF/split/big-00001-of-00002.gguf",
        "lmstudio:lmstudio-community/Coder-GGUF/Coder-Q4_K_M.gguf",
        "ollama:hf.co/Org/Coder-GGUF:Q4_K_M",
        "ollama:someone/thing:v1",
        "ollama:tinycoder:latest",
        "ollama:tinycoder:q8",
    ]
    # The main revision wins over an older snapshot of the same file.
    coder = found["hf:Org/Coder-GGUF/coder-q4_k_m.gguf"]
    assert coder.path.read_bytes() == weights and coder.sha256 == sha(weights)
    assert coder.source == "Hugging Face cache" and coder.size == len(weights)
    tiny = found["ollama:tinycoder:latest"]
    assert tiny.path == stores["ollama"] / "blobs" / f"sha256-{sha(weights)}"
    assert tiny.sha256 == sha(weights)
    assert found["lmstudio:lmstudio-community/Coder-GGUF/Coder-Q4_K_M.gguf"].sha256 is None


def test_discovered_models_are_listed_and_used_in_place(stores, weights, capsys):
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["ollama:tinycoder:latest"]["source"] == "Ollama"
    assert listed["ollama:tinycoder:latest"]["status"] == "present"
    assert main(["models"]) == 0
    assert "hf:Org/Coder-GGUF/coder-q4_k_m.gguf" in capsys.readouterr().out
    # Used by name, where they lie: nothing is copied into the models folder.
    assert resolve("ollama:tinycoder").path == \
        (stores["ollama"] / "blobs" / f"sha256-{sha(weights)}").resolve()
    choice = resolve("hf:Org/Coder-GGUF/coder-q4_k_m.gguf")
    assert choice.path.read_bytes() == weights
    assert not (stores["hf"].parent / "models").exists()
    from codex_magic.engines.llama.engine import LlamaEngine
    from codex_magic.types import SamplingParams

    engine = LlamaEngine(choice.path)
    try:
        samples = engine.sample("def f(x):\n", SamplingParams(n=2, temperature=0.5,
                                                             max_tokens=8, seed=1))
    finally:
        engine.close()
    assert len(samples) == 2


def test_verify_uses_the_stores_own_hashes(stores, weights, capsys):
    assert main(["models", "verify", "ollama:tinycoder:q8"]) == 0
    assert main(["models", "verify", "hf:Org/Coder-GGUF/coder-q4_k_m.gguf"]) == 0
    assert main(["models", "verify", "lmstudio:lmstudio-community/Coder-GGUF/Coder-Q4_K_M.gguf"]
                ) == 1  # LM Studio keeps no hash: nothing to compare with
    assert "keeps no sha256" in capsys.readouterr().out
    blob = stores["ollama"] / "blobs" / f"sha256-{sha(weights)}"
    blob.write_bytes(weights[:-1] + b"\0")  # bit rot in a content-addressed blob
    assert main(["models", "verify", "ollama:tinycoder"]) == 1
    assert "corrupt" in capsys.readouterr().out
    assert main(["models", "path", "ollama:nothing:here"]) == 1


def test_an_unknown_discovered_name_says_where_it_looked(stores):
    with pytest.raises(CodexError, match=r"no model 'hf:Org/Nope/x.gguf' in Hugging Face cache"
                                         rf" \({stores['hf']}\)"):
        resolve("hf:Org/Nope/x.gguf")
    with pytest.raises(CodexError, match="Ollama"):
        resolve("ollama:gone")


def test_default_locations_and_switching_it_off(stores, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert _discover.hf_cache() == tmp_path / "hfhome" / "hub"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _discover.hf_cache() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.delenv("OLLAMA_MODELS")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _discover.ollama_dir() == tmp_path / "home" / ".ollama" / "models"
    monkeypatch.delenv("CODEX_MAGIC_LMSTUDIO_MODELS")
    assert _discover.lmstudio_dirs()[0] == tmp_path / "home" / ".lmstudio" / "models"
    monkeypatch.setenv("CODEX_MAGIC_DISCOVER", "0")
    assert _discover.discover() == [] and _discover.find("ollama:tinycoder") is None
