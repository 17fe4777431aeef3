"""An engine that samples through an inference server, with the OpenAI completions protocol.

For those who outgrow one machine: a JupyterHub class sharing one GPU box, a team's
vLLM, llama.cpp's ``llama-server``. ``ServerEngine`` is the same narrow ``Engine``
as the in-process one: ``sample`` returns n ``Sample``s whose text and log-probs
are cut by the same ``Sequences`` code at the same stop rule (the server applies
the paper's stop strings; the unindented-line rule is applied here), so the
pipeline, ranking, sandbox, widget and evaluation do not know the difference.

What differs is how the n samples are asked for:

- One streamed ``/v1/completions`` request with ``n`` (vLLM batches them and shares
  the prompt). A server that ignores ``n`` (llama.cpp's and llama-cpp-python's)
  answers one choice; the others are then asked for by concurrent requests seeded
  ``seed + i``, as the in-process engine seeds its sequences, and the engine asks so
  from the start next time.
- Log-probs are asked for (``logprobs: 1``); a server that gives none leaves the
  samples without them, and the result says that ranking used none.
- The stream drives the progress display, and a candidate that the stop rule ended
  closes its own request, so the server stops working on it.
- llama-cpp-python's server serves one request at a time and, unless started with
  ``--interrupt_requests False``, ends the stream it is serving when another
  request arrives (``[DONE]`` before a ``finish_reason``). The engine then keeps
  one request open at a time and asks again for what was cut.

An interrupt is noticed within 0.05 s; every open request is then aborted (its
socket shut down), and the worker threads end with them. ``_server_draw`` holds
the per-call machinery, ``_openai_client`` the HTTP.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from ...types import CodexError, Sample, SamplingParams
from ..base import EngineStats, TokenProgress
from ..sequences import StopRule, stop_rule
from .client import Client, Secret, StatusError, parse_url, wait_for
from .draw import NO_LOGPROBS_NOTE, Draw

if TYPE_CHECKING:
    from ..base import SampleDone
    from ..scoring import Continuation, Scored

__all__ = ["NO_LOGPROBS_NOTE", "ServerEngine", "for_options", "server_engine", "server_url"]

MAX_IN_FLIGHT = 32  # requests one engine keeps open at once (the server queues the rest)
T = TypeVar("T")


def server_url(value: str | None) -> str | None:
    """The server to sample from: ``value`` (``--server``, ``%config``), else the option's
    environment variable (``CODEX_MAGIC_SERVER``); None: sample in this process."""
    from ...options import Options

    return Options(server=value or None).from_env().server


# -- one engine per server, model and key: it remembers what the server does ----------------

_engines: dict[tuple[str, str | None, str], ServerEngine] = {}
_engines_lock = threading.Lock()


def server_engine(url: str, model: str | None = None) -> ServerEngine:
    """The engine for this server and model, kept per process; the API key comes from
    ``CODEX_MAGIC_API_KEY`` only."""
    key = os.environ.get("CODEX_MAGIC_API_KEY") or None
    ident = (str(parse_url(url)), model, hashlib.sha256((key or "").encode()).hexdigest())
    with _engines_lock:
        engine = _engines.get(ident)
    if engine is not None:
        engine.load_s = 0.0
        return engine
    engine = ServerEngine(url, model, api_key=key)
    with _engines_lock:
        _engines[ident] = engine
    return engine


def for_options(url: str, model: str | None) -> tuple[ServerEngine, dict[str, float] | None]:
    """``engine_for``'s answer with a server: the engine, and the registry's temperatures
    when ``--model`` is a registry name."""
    from ...models import find_entry

    entry = find_entry(model) if model else None
    return server_engine(url, model), (entry or {}).get("temperature")


def _forget(engine: ServerEngine) -> None:
    """Drop a failing engine, so the next run asks the server afresh (it may have restarted
    with another model)."""
    with _engines_lock:
        for ident, e in list(_engines.items()):
            if e is engine:
                del _engines[ident]


# -- the engine -------------------------------------------------------------------------------


class ServerEngine:
    """n candidates from an OpenAI-compatible ``/v1/completions`` endpoint."""

    def __init__(self, url: str, model: str | None = None, *, api_key: str | None = None,
                 **client_settings: Any) -> None:
        self.url = parse_url(url)
        self.client = Client(self.url, Secret(api_key), **client_settings)
        self.stats = EngineStats()
        self.batches_n: bool | None = None  # does one request answer n choices?
        self.gives_logprobs: bool | None = None
        self.slots = _Slots(MAX_IN_FLIGHT)
        t0 = time.perf_counter()
        self.model = self._choose_model(model)
        path = PurePosixPath(self.model)
        self.name = path.name if path.suffix == ".gguf" else self.model
        self.load_s = time.perf_counter() - t0

    def __repr__(self) -> str:
        return f"ServerEngine({str(self.url)!r}, model={self.model!r})"

    def _choose_model(self, model: str | None) -> str:
        """``model``, checked against ``/v1/models``; without one, the first it lists."""
        try:
            listing = wait_for(lambda call: self.client.get_json(call, "/models"))
        except StatusError as e:
            if e.status == 404 and model:
                return model  # a server without /v1/models: the completions will tell
            raise
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, list):
            raise CodexError(f"the server at {self.url} answered /models without a list of "
                             "models: --server must be the /v1 base URL of an "
                             "OpenAI-compatible server")
        ids = [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
        if not ids:
            raise CodexError(f"the server at {self.url} serves no model: load one into it")
        if model is None:
            return ids[0]
        if model not in ids:
            raise CodexError(f"the server at {self.url} has no model {model!r}: --model must "
                             f"be one it serves ({', '.join(map(repr, ids[:8]))})")
        return model

    def sample(self, prompt: str, params: SamplingParams, *,
               stop: StopRule | Sequence[str] = (),
               on_progress: TokenProgress | None = None,
               on_finished: SampleDone | None = None) -> list[Sample]:
        """Draw ``params.n`` completions of ``prompt`` through the server;
        ``on_finished(i, sample)`` gets each one as soon as it ends."""
        if params.n < 1:
            raise CodexError("n must be at least 1")
        draw = Draw(self, prompt, params, stop_rule(stop), _stop_strings(stop), on_finished)
        try:
            samples = draw.run(on_progress)
        except CodexError:
            _forget(self)
            raise
        finally:
            draw.close()
        self.stats = draw.stats
        return samples

    def complete_each(self, prompt: str, suffixes: Sequence[str], max_tokens: int,
                      stop: StopRule) -> list[str]:
        """Greedy continuations, one request each (a server shares no KV cache with us)."""
        params = SamplingParams(n=1, temperature=0.0, max_tokens=max_tokens)
        return [self.sample(prompt + s, params, stop=stop)[0].text for s in suffixes]

    def score(self, prompt: str, continuations: Sequence[Continuation]) -> list[Scored]:
        """The log-probs of each continuation after ``prompt``: echo with logprobs where the
        server gives them, a one-line "not available" ``CodexError`` otherwise."""
        from .score import score_server

        return score_server(self, prompt, continuations)


def _stop_strings(stop: StopRule | Sequence[str]) -> list[str]:
    """Stop strings for the server: those given, or the paper's when the rule is
    ``prompt.stop_index`` (which adds the unindented-line rule, applied on our side)."""
    if not callable(stop):
        return [s for s in stop if s]
    from ...prompt import STOP_SEQUENCES, stop_index

    return list(STOP_SEQUENCES) if stop is stop_index else []




class _Slots:
    """How many requests an engine keeps open: many, or one once the server has shown that
    it cuts a stream short when another request arrives."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.used -= 1

    def one_at_a_time(self) -> None:
        with self._lock:
            self.limit = 1
