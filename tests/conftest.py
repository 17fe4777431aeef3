"""Shared fixtures: real GGUF models (a tiny random-weight one, and the default model)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random-weight llama GGUF: loads in milliseconds, for engine mechanics."""
    from codex_magic.models.random_gguf import write_random_gguf

    return write_random_gguf(tmp_path_factory.mktemp("models") / "tiny.gguf", "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_engine(tiny_model: Path):
    from codex_magic.engines.llama.engine import LlamaEngine

    engine = LlamaEngine(tiny_model)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def default_model() -> Path:
    from codex_magic.models import default_model_path

    return default_model_path()


@pytest.fixture(scope="module")
def _codex_kernel(default_model):
    from tests.kernel import shared_kernel

    yield from shared_kernel("%load_ext codex_magic")


@pytest.fixture
def kernel(_codex_kernel):
    """A kernel with codex_magic loaded, shared by a module's tests, and replaced first
    when an earlier test left it stuck or dead (so no failure takes others with it)."""
    from tests.kernel import healthy

    return healthy(_codex_kernel)


@pytest.fixture(scope="session")
def llama_server(default_model, tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1 serving the default model
    (log-probs on, its defaults otherwise): its /v1 base URL. One per session."""
    from tests.llama_server import start

    server = start(default_model, tmp_path_factory.mktemp("llama-server") / "server.log")
    yield server.url
    server.stop()


def _sandbox_modes() -> tuple[str, ...]:
    from tests.sandbox_host import MODES

    return MODES


@pytest.fixture(params=_sandbox_modes())
def mode(request, monkeypatch):
    """Each sandbox mode in turn, forced with CODEX_MAGIC_SANDBOX; skipped (with the
    reason) where this machine cannot give it."""
    from tests.sandbox_host import mode_skip_reason

    reason = mode_skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("CODEX_MAGIC_SANDBOX", request.param)
    return request.param


@pytest.fixture(params=["numpy", "generic", "avx2", "avx512"])
def host_kernel(request):
    """Each way the host sampler reads logits rows in turn: numpy, and each build of
    the compiled kernel, skipped (with the reason) where this CPU lacks it. With
    CODEX_MAGIC_REQUIRE_KERNEL=1 (CI) an unbuilt kernel is a failure, not a skip."""
    import os

    from codex_magic.engines.llama import rowkernel as _rowkernel

    have = _rowkernel.available()
    if request.param != "numpy" and request.param not in have:
        if not have:
            why = f"the compiled kernel is not built ({_rowkernel.LIBRARY.name} missing)"
            if os.environ.get("CODEX_MAGIC_REQUIRE_KERNEL") == "1":
                pytest.fail(why)
        else:
            why = f"this CPU lacks {request.param} (it runs {', '.join(have)})"
        pytest.skip(why)
    saved = _rowkernel.current() or "numpy"
    _rowkernel.use(request.param)
    yield request.param
    _rowkernel.use(saved)
