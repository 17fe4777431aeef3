"""Values that cross the pipeline's stage boundaries.

Every type here is a frozen dataclass that converts to and from plain JSON,
because results travel through a subprocess, the widget channel, the kernel
(for the JupyterLab sidebar) and the CLI's ``--json`` output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class CodexError(Exception):
    """A problem the user can fix; its message is one line saying what and how."""


@dataclass(frozen=True)
class Doctest:
    """One ``>>>`` example of the user's docstring."""

    source: str
    want: str
    exc_msg: str | None = None
    lineno: int = 0
    options: dict[int, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """What the user asked for: the cell, split into the parts the pipeline needs."""

    cell: str  # the cell as written (imports, helpers, signature, docstring)
    prompt: str  # what the model continues: context + cell, ending in a newline
    header: str  # the target function's signature and docstring
    preamble: str  # imports and helpers in the cell before the target function
    context: str  # code of earlier cells put before the prompt ("" without --context)
    function_name: str
    doctests: tuple[Doctest, ...]
    signature: str = ""  # the def line(s) without the docstring, for the sandbox's program


@dataclass(frozen=True)
class SamplingParams:
    """How to draw one batch of samples: what every engine is asked."""

    n: int
    temperature: float  # 0: greedy
    top_p: float = 0.95
    top_k: int = 40  # 0: the whole vocabulary
    max_tokens: int = 256
    seed: int = 0  # sequence i draws with seed + i
    grammar: str | None = None  # GBNF text (llama.cpp engines only)


@dataclass(frozen=True)
class Sample:
    """One completion drawn from the model."""

    text: str  # the completion, cut at the first stop sequence
    token_logprobs: tuple[float, ...]  # log p(token) under the model, untempered
    finish_reason: str  # "stop", "eos", "length" or "repetition"
    seed: int
    token_ids: tuple[int, ...] = ()  # the tokens whose log-probs these are

    @property
    def sum_logprob(self) -> float:
        return float(sum(self.token_logprobs))

    @property
    def mean_logprob(self) -> float:
        return mean_logprob(self.token_logprobs)


def mean_logprob(token_logprobs: Sequence[float]) -> float:
    """Mean token log-prob; -inf when there are no tokens (ranked last)."""
    if not token_logprobs:
        return float("-inf")
    return float(sum(token_logprobs)) / len(token_logprobs)


@dataclass(frozen=True)
class Failure:
    """Why one doctest example did not pass."""

    source: str
    expected: str
    got: str
    reason: str  # "wrong output", "exception", "timed out", "killed: memory", ...


@dataclass(frozen=True)
class Verdict:
    """The outcome of running a candidate's doctests in the sandbox."""

    passed: int
    total: int
    failures: tuple[Failure, ...] = ()
    status: str = "ok"  # "ok", "no tests", "syntax error", "timed out", "crashed", ...
    detail: str = ""
    seconds: float = 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class Candidate:
    """A distinct completion after merging duplicates, with its verdict and rank."""

    rank: int
    code: str  # the full function: the user's signature + docstring + body
    body: str  # the generated body only
    verdict: Verdict
    mean_logprob: float
    sum_logprob: float
    count: int  # how many samples produced this code
    seeds: tuple[int, ...] = ()
    finish_reason: str = ""  # how its sample ended: "stop", "eos", "length", "repetition"
    review: float | None = None  # --rank review's score: mean log P(code) + P(docstring|code)
    explanation: str = ""  # what it does in one line, written by the model from the code


@dataclass(frozen=True)
class Result:
    """The ranked candidates for one prompt."""

    candidates: tuple[Candidate, ...]
    n_samples: int
    n_correct: int  # samples (not distinct candidates) that passed every doctest
    n_doctests: int
    model: str
    temperature: float
    seed: int
    rank_by: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the user should know of how it was made

    @property
    def best(self) -> Candidate:
        if not self.candidates:
            raise CodexError("no candidates were generated")
        return self.candidates[0]

    def to_json(self) -> dict[str, Any]:
        """Strict JSON, as the sidebar and ``solve --json`` get it (``render.result_json``)."""
        from .render import result_json

        return result_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        cands = tuple(
            Candidate(
                rank=c["rank"], code=c["code"], body=c["body"],
                verdict=Verdict(passed=c["passed"], total=c["total"],
                                failures=tuple(Failure(**f) for f in c.get("failures", ())),
                                status=c.get("status", "ok"), detail=c.get("detail", ""),
                                seconds=c.get("seconds", 0.0)),
                mean_logprob=_num(c["mean_logprob"]), sum_logprob=_num(c["sum_logprob"]),
                count=c["count"], seeds=tuple(c.get("seeds", ())),
                finish_reason=c.get("finish_reason", ""),
                review=c.get("review"), explanation=c.get("explanation", ""),
            )
            for c in data["candidates"]
        )
        fields = {f.name for f in dataclasses.fields(cls)} - {"candidates", "notes"}
        return cls(candidates=cands, notes=tuple(data.get("notes", ())),
                   **{k: v for k, v in data.items() if k in fields})


def _num(x: Any) -> float:
    return float("-inf") if x is None else float(x)


@dataclass(frozen=True)
class Progress:
    """Where a run is, for progress displays."""

    phase: str  # "loading", "sampling", "testing", "done"
    done: int = 0  # candidates finished (sampled, or tested)
    total: int = 0
    tokens: int = 0  # tokens generated so far


ProgressFn = Callable[[Progress], None]  # what a run reports its progress to
