"""The engine the options ask for, and the one a kernel keeps: loading a model takes
seconds, so a kernel loads it once and reuses it across cells."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime import interrupts
from ..types import Progress, ProgressFn, SamplingParams
from .base import Engine, TokenProgress

if TYPE_CHECKING:
    from ..options import Options
    from .llama.engine import LlamaEngine


def engine_for(options: Options) -> tuple[Engine, dict[str, float] | None]:
    """The engine the options ask for, and the model's sampling defaults (its registry
    entry's temperatures), if it has any. With a server (``--server``,
    ``$CODEX_MAGIC_SERVER``), the engine that samples through it."""
    from ..models import resolve

    server = options.from_env().server
    if server is not None:
        from .server.engine import for_options

        return for_options(server, options.model)
    choice = resolve(options.model)
    o = options.from_env()  # None left means automatic (the engine decides)
    engine = get_engine(choice.path, n_threads=o.threads, n_gpu_layers=o.gpu_layers,
                        n_ctx=o.n_ctx)
    return engine, (choice.entry or {}).get("temperature")


# -- one engine per kernel: loading a model takes seconds, so keep it --------------------

_engines: dict[tuple[Any, ...], LlamaEngine] = {}
_engines_lock = threading.Lock()


def get_engine(path: str | os.PathLike[str], **settings: Any) -> LlamaEngine:
    """The engine for ``path``, loaded once per process and reused across cells.

    A different model (or different load settings) replaces the previous one, so a
    kernel holds one model's weights at a time.
    """
    from .llama.engine import LlamaEngine

    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, tuple(sorted(settings.items())))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            engine.load_s = 0.0
            return engine
        for old in list(_engines.values()):
            old.close()
        _engines.clear()
        engine = LlamaEngine(p, **settings)
        _engines[key] = engine
        return engine


def unload() -> None:
    """Free the kept engine (its model and context): ``%unload_ext`` and tests."""
    with _engines_lock:
        for old in list(_engines.values()):
            old.close()
        _engines.clear()


def new_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def prepare_run(options: Options, engine: Engine | None, report: ProgressFn,
          timings: dict[str, float]) -> tuple[Engine, SamplingParams, TokenProgress]:
    """What every run does first: the engine (loaded once per kernel), the sampling
    parameters (the model's temperature defaults, a seed), a throttled token progress."""
    t0 = time.perf_counter()
    defaults = None
    if engine is None:
        report(Progress("loading"))
        interrupts.phase("resolve")
        engine, defaults = engine_for(options)
    timings["load"] = engine.load_s
    timings["resolve"] = time.perf_counter() - t0 - timings["load"]
    params = options.sampling(options.seed if options.seed is not None else new_seed(), defaults)
    n, last = params.n, [0.0]

    def on_tokens(tokens: int, finished: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 0.1 or finished == n:
            last[0] = now
            report(Progress("sampling", finished, n, tokens))

    report(Progress("sampling", 0, n, 0))
    return engine, params, on_tokens
