"""Shared fixtures: real GGUF models (a tiny random-weight one, and the default model)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random-weight llama GGUF: loads in milliseconds, for engine mechanics."""
    from codex_magic._random_gguf import write_random_gguf

    return write_random_gguf(tmp_path_factory.mktemp("models") / "tiny.gguf", "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_engine(tiny_model: Path):
    from codex_magic.llama_engine import LlamaEngine

    engine = LlamaEngine(tiny_model)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def default_model() -> Path:
    from codex_magic.models import default_model_path

    return default_model_path()
