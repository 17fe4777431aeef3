"""What an engine is: the narrow interface the pipeline samples and scores through.

``Engine`` is all the pipeline, the evaluation and the sidebar know of a model
backend: ``sample(prompt, params, stop=..., on_progress=..., on_finished=...)``
draws ``params.n`` completions (``on_finished`` gets each one as soon as it
ends, so its tests can start while the others decode), ``score`` gives the
log-probs of texts the model did not write, ``complete_each`` greedy one-line
completions of several prompts; plus ``name``, ``load_s`` and ``stats``. The
llama.cpp engine (``engines.llama``) and the inference-server engine
(``engines.server``) implement it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..types import Sample, SamplingParams
from .scoring import Continuation, Scored
from .sequences import StopRule

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

    def complete_each(self, prompt: str, suffixes: Sequence[str], max_tokens: int,
                      stop: StopRule) -> list[str]:
        """The greedy continuation of ``prompt + suffix`` for each suffix, each ended where
        ``stop`` finds its end (batched where the engine can)."""
        ...
