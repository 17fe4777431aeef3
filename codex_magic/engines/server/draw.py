"""One ``ServerEngine.sample`` call: its requests, the candidates they grow, what arrives.

``Draw`` runs in the caller's thread. Each request streams in a worker thread of its
own, which only reads the socket and queues what arrives; everything else — the stop
rule, the progress callback, asking again — happens in the caller's thread, which
polls the interrupt flag between events (every 0.05 s at most) and, whatever ends
the call, aborts the requests still open (``close``).
"""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ...runtime import interrupts
from ...types import CodexError, Sample, SamplingParams
from ..base import EngineStats, TokenProgress
from ..sequences import Sequences, StopRule
from .client import Aborted, Call, Client, ServerURL, StatusError

if TYPE_CHECKING:
    from ..base import SampleDone

MAX_REDOS = 3  # times a candidate whose stream was cut short is asked for again


class Server(Protocol):
    """What one call reads of its engine (``ServerEngine``)."""

    url: ServerURL
    model: str
    client: Client
    slots: Any  # bounds the requests in flight across calls
    batches_n: bool | None  # does one request answer n choices?
    gives_logprobs: bool | None


NO_LOGPROBS_NOTE = ("the server gave no log-probs: candidates with equal test results are "
                    "ordered by how many samples wrote them")


@dataclass(eq=False)
class _Request:
    """One /completions request: its choice j is candidate ``first + j``."""

    first: int
    count: int
    stream: bool = True
    logprobs: bool = True
    call: Call = field(default_factory=Call)
    seen: set[int] = field(default_factory=set)  # choice indices that arrived
    error: BaseException | None = None


class Draw:
    """One ``sample`` call: its requests, the candidates they grow, and the events."""

    def __init__(self, engine: Server, prompt: str, params: SamplingParams,
                 find_stop: StopRule, stops: list[str], on_finished: SampleDone | None) -> None:
        self.engine, self.prompt, self.p, self.stops = engine, prompt, params, stops
        self.find_stop, self.on_finished = find_stop, on_finished
        n = params.n
        self.seeds = [(params.seed + i) % 2**32 for i in range(n)]
        self.seqs = [Sequences([sd], find_stop) for sd in self.seeds]
        self.done = [False] * n
        self.scored = [True] * n  # every token of the candidate came with its log-prob
        self.redos = [0] * n
        self.owner: list[_Request | None] = [None] * n
        self.waiting: deque[_Request] = deque()
        self.started: list[tuple[_Request, threading.Thread]] = []
        self.events: queue.Queue[tuple[str, _Request, Any]] = queue.Queue()
        self.stats = EngineStats(extra={"server": str(engine.url), "requests": 0})
        self.t0 = time.perf_counter()
        self.first_event: float | None = None

    # -- the loop, in the caller's thread ------------------------------------------------------

    def run(self, on_progress: TokenProgress | None) -> list[Sample]:
        interrupts.phase("server")
        n = self.p.n
        if n > 1 and self.engine.batches_n is not False:
            self.ask(0, n)
        else:
            for i in range(n):
                self.ask(i, 1)
        while not all(self.done):
            self.launch()
            interrupts.check()
            try:
                kind, req, payload = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            if req.call.aborted.is_set():
                continue  # a request we ended ourselves
            if kind == "event":
                self.take(req, payload)
                if on_progress is not None:
                    on_progress(sum(s.generated for s in self.seqs), sum(self.done))
            else:
                self.ended(req)
        return self.results()

    def ask(self, first: int, count: int, *, stream: bool = True) -> None:
        req = _Request(first, count, stream, self.engine.gives_logprobs is not False)
        for s in range(first, first + count):
            self.owner[s] = req
        self.waiting.append(req)

    def launch(self) -> None:
        while self.waiting and self.engine.slots.take():
            req = self.waiting.popleft()
            worker = threading.Thread(target=self.fetch, args=(req, self.body(req)),
                                      name="codex-server-request", daemon=True)
            self.started.append((req, worker))
            worker.start()

    def body(self, req: _Request) -> dict[str, Any]:
        p = self.p
        body: dict[str, Any] = {
            "model": self.engine.model, "prompt": self.prompt, "n": req.count,
            "max_tokens": p.max_tokens, "temperature": p.temperature, "top_p": p.top_p,
            "seed": self.seeds[req.first], "stream": req.stream}
        if self.stops:
            body["stop"] = self.stops
        if p.top_k > 0:
            body["top_k"] = p.top_k  # not OpenAI's, but vLLM's and llama.cpp's servers take it
        if req.logprobs:
            body["logprobs"] = 1
        if p.grammar is not None:
            body["grammar"] = p.grammar  # llama.cpp's servers
        return body

    # -- in a worker thread: one request, its events into the queue ------------------------------

    def fetch(self, req: _Request, body: dict[str, Any]) -> None:
        client, call = self.engine.client, req.call
        try:
            if req.stream:
                for obj in client.stream(call, "/completions", body):
                    self.events.put(("event", req, obj))
            else:
                self.events.put(("event", req, client.post_json(call, "/completions", body)))
                call.done = True
        except Aborted:
            pass
        except BaseException as e:  # carried to the caller's thread by the "end" event
            req.error = e
        finally:
            call.close()
            self.engine.slots.give()
            self.events.put(("end", req, None))

    # -- what arrives ---------------------------------------------------------------------------

    def take(self, req: _Request, obj: Any) -> None:
        """One streamed chunk (or a whole JSON reply): text and log-probs per choice."""
        if isinstance(obj, dict) and obj.get("error"):
            msg = self.engine.client.server_message(json.dumps(obj))
            raise CodexError(f"the server at {self.engine.url} failed while answering: {msg}")
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list):
            raise self.malformed("a reply without choices")
        if self.first_event is None:
            self.first_event = time.perf_counter()
            interrupts.phase("server-stream")
        usage = obj.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
            self.stats.prompt_tokens = usage["prompt_tokens"]
        for ch in choices:
            j = ch.get("index", 0) if isinstance(ch, dict) else None
            text = ch.get("text") or "" if isinstance(ch, dict) else None
            if not isinstance(j, int) or not 0 <= j < req.count or not isinstance(text, str):
                raise self.malformed(f"a choice that is not one of the {req.count} asked for")
            req.seen.add(j)
            if len(req.seen) > 1:
                self.engine.batches_n = True
            s = req.first + j
            if self.done[s] or self.owner[s] is not req:
                continue
            seq = self.seqs[s]
            for piece, logprob in _pieces(text, ch.get("logprobs")):
                self.scored[s] = self.scored[s] and logprob is not None
                if not seq.add(0, 0, piece.encode("utf-8"), logprob or 0.0) or \
                        seq.generated >= self.p.max_tokens:
                    break  # the stop rule ended it (or the server ignores max_tokens)
            else:
                reason = ch.get("finish_reason")
                if not reason:
                    continue
                seq.finish[0] = "length" if reason == "length" else "stop"
            self.finish(s, req)

    def finish(self, s: int, req: _Request) -> None:
        self.done[s] = True
        if self.stats.first_finished_s is None:
            self.stats.first_finished_s = time.perf_counter() - self.t0
        if all(self.done[req.first:req.first + req.count]):
            req.call.abort()  # nothing more wanted from it: the server may stop
        if self.on_finished is not None:
            self.on_finished(s, self.sample(s))

    def ended(self, req: _Request) -> None:
        """A request's reply is over: ask again for what it did not finish, or fail."""
        err = req.error
        if isinstance(err, StatusError) and err.status in (400, 422) and req.logprobs and \
                "logprob" in err.message.lower():
            self.engine.gives_logprobs = False  # the server refuses log-probs: do without
            return self.ask(req.first, req.count, stream=req.stream)
        if isinstance(err, StatusError) and err.status == 404:
            said = f": {err.message.rstrip('.')}" if err.message else ""
            raise CodexError(
                f"the server at {self.engine.url} answered HTTP 404 for /completions with "
                f"model {self.engine.model!r}{said}: the model is not served (any more), or "
                "the server has no completions endpoint; check --model and --server") from None
        if err is not None:
            raise err
        lost = [s for s in range(req.first, req.first + req.count)
                if self.owner[s] is req and not self.done[s]]
        if not lost:
            return None
        if req.stream and not req.call.done and not req.call.received:
            # An empty stream: llama-cpp-python's, when the prompt is too long. Asked
            # without streaming, the server says why (or answers).
            return self.ask(req.first, req.count, stream=False)
        if req.count > 1 and len(req.seen) == 1:
            self.engine.batches_n = False  # one choice for n: ask for the others one by one
        for s in lost:
            if s - req.first not in req.seen and req.count > 1:
                self.ask(s, 1)
            elif req.call.done:
                self.redo(s)
            else:
                raise CodexError(f"the server at {self.engine.url} closed the connection in "
                                 "the middle of a reply: it stopped or crashed; check it and "
                                 "run again")
        return None

    def redo(self, s: int) -> None:
        """Candidate s was cut short ([DONE] before its end): ask again, one request at a
        time, as a server that ends a stream when another request arrives needs."""
        self.redos[s] += 1
        if self.redos[s] > MAX_REDOS:
            raise CodexError(
                f"the server at {self.engine.url} kept ending replies before the candidate "
                "was complete: llama-cpp-python's server does so when another request "
                "arrives; start it with --interrupt_requests False")
        self.engine.slots.one_at_a_time()
        self.seqs[s] = Sequences([self.seeds[s]], self.find_stop)
        self.scored[s] = True
        self.ask(s, 1)

    def malformed(self, what: str) -> CodexError:
        return CodexError(f"the server at {self.engine.url} sent {what}: it does not speak "
                          "the OpenAI completions protocol as expected (--server must be the "
                          "/v1 base URL of an OpenAI-compatible server)")

    # -- the end --------------------------------------------------------------------------------

    def results(self) -> list[Sample]:
        end = time.perf_counter()
        st = self.stats
        first = self.first_event or end
        st.prefill_s, st.decode_s = first - self.t0, end - first
        st.generated_tokens = sum(s.generated for s in self.seqs)
        st.extra["requests"] = len(self.started)
        if not all(self.scored) or self.engine.gives_logprobs is False:
            self.engine.gives_logprobs = False
            st.notes.append(NO_LOGPROBS_NOTE)
        return [self.sample(s) for s in range(len(self.seqs))]

    def sample(self, s: int) -> Sample:
        """Candidate s, cut at its stop; log-probs only when every token had one (the
        server names no token ids)."""
        sample = self.seqs[s].sample(0)
        lps = sample.token_logprobs if self.scored[s] else ()
        return dataclasses.replace(sample, token_logprobs=lps, token_ids=())

    def close(self) -> None:
        """Abort every request still open and let its thread end (interrupt, error, done)."""
        for req in self.waiting:
            req.call.abort()
        for req, _ in self.started:
            req.call.abort()
        deadline = time.monotonic() + 1.0
        for _, worker in self.started:
            worker.join(max(0.0, deadline - time.monotonic()))


def _pieces(text: str, logprobs: Any) -> list[tuple[str, float | None]]:
    """A choice's new text as (piece, log-prob) per token; without log-probs, one piece.

    Log-probs come as OpenAI's completions give them (``tokens``, ``token_logprobs``), or
    as its chat completions do (``content``: one ``{token, logprob}`` per token), which
    llama.cpp's llama-server uses for both.
    """
    tokens = logprobs.get("tokens") if isinstance(logprobs, dict) else None
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if values is None and isinstance(content, list):
        entries = [c for c in content if isinstance(c, dict)]
        tokens, values = [c.get("token") for c in entries], [c.get("logprob") for c in entries]
    if not isinstance(values, list) or not values:
        return [(text, None)] if text else []
    values = [float(v) if isinstance(v, (int, float)) else None for v in values]
    if isinstance(tokens, list) and len(tokens) == len(values) and "".join(
            t if isinstance(t, str) else "" for t in tokens) == text:
        return list(zip(tokens, values, strict=True))
    # Tokens that do not spell the text (bytes of a split character): the text goes with
    # the first token, the others add their log-probs.
    return [(text, values[0])] + [("", v) for v in values[1:]]
