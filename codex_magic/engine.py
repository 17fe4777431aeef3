"""The narrow interface the pipeline samples through, and the engine a kernel keeps.

``Engine`` is all the pipeline, the evaluation and the sidebar know of a model
backend: ``sample(prompt, params, stop=..., on_progress=..., on_finished=...)``
draws ``params.n`` completions (``on_finished`` gets each one as soon as it
ends, so its tests can start while the others decode), plus ``name``,
``load_s`` and ``stats``. The
in-process llama.cpp engine (``llama_engine.LlamaEngine``) implements it; so
can an engine that talks to an inference server.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .sampling import StopRule
from .types import Sample, SamplingParams

if TYPE_CHECKING:
    from .llama_engine import LlamaEngine
    from .options import Options
    from .scoring import Continuation, Scored

TokenProgress = Callable[[int, int], None]  # (tokens generated, sequences finished)
SampleDone = Callable[[int, Sample], None]  # (sequence index, its sample) as soon as it ends


@dataclass
class EngineStats:
    """Counters of the last ``sample`` call, for ``--timings``, tests and benchmarks."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0  # prompt tokens whose KV was kept from the previous call
    generated_tokens: int = 0
    decode_calls: int = 0  # llama_decode calls for the generation steps
    steps: int = 0  # generation steps: one token chosen for every running sequence
    llama_decode_s: float = 0.0  # of decode_s, the time inside llama_decode
    prefill_calls: int = 0
    first_finished_s: float | None = None
    n_ctx: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # for the user, with the result

    @property
    def host_s(self) -> float:
        """Generation time spent outside the model: choosing tokens, log-probs, bookkeeping."""
        return max(0.0, self.decode_s - self.llama_decode_s)


class Engine(Protocol):
    """What the pipeline needs from a model backend."""

    name: str
    load_s: float  # seconds the last get_engine spent loading it (0 when reused)
    stats: EngineStats  # of the last sample call

    def sample(self, prompt: str, params: SamplingParams, *,
               stop: StopRule | Sequence[str] = (),
               on_progress: TokenProgress | None = None,
               on_finished: SampleDone | None = None) -> list[Sample]: ...

    def score(self, prompt: str, continuations: Sequence[Continuation]) -> list[Scored]:
        """The log-prob of each token of each continuation after ``prompt``, computed
        by the model, not sampled (``scoring.py``); an engine that cannot raises
        ``CodexError`` saying scoring is not available."""
        ...


def engine_for(options: Options) -> tuple[Engine, dict[str, float] | None]:
    """The engine the options ask for, and the model's sampling defaults (its registry
    entry's temperatures), if it has any. With a server (``--server``,
    ``$CODEX_MAGIC_SERVER``), the engine that samples through it."""
    from .models import resolve

    server = options.from_env().server
    if server is not None:
        from .server_engine import for_options

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
    from .llama_engine import LlamaEngine

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
