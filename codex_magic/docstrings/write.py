"""The reverse direction (the Codex paper's Codex-D): from code to what it is for.

One local model, no extra training: a prompt that shows a function's code and
then opens its docstring (``reverse_prompt``) makes the model write one. Three
uses:

- ``write_docstrings`` (``%%docstring``, ``codex-magic docstring``): n docstring
  candidates for the user's function, sampled in one batch, each put into the
  code safely (``docstring.with_docstring``) and ranked by back-translation:
  the mean log-prob of the user's *code* after that docstring (scored, not
  sampled, in one batched pass: ``Engine.score``).
- ``explain`` (in ``explain.py``): a one-line summary of each ``%%codex``
  candidate, written from its code alone, so a user sees what code does before
  inserting it (the paper's safety use).
- ``backward_logprobs``: mean log P(the user's docstring | a candidate's code),
  which ``--rank review`` adds to the candidate's own mean log-prob (the
  Coder-Reviewer ranking, Zhang et al. 2022), and which the evaluation's
  ``back-translation`` and ``review`` rows measure.
"""

from __future__ import annotations

import ast
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engines import Engine, prepare_run
from ..options import Options
from ..render import printable
from ..runtime import interrupts
from ..types import CodexError, Progress, ProgressFn, Task
from .function import Function, Unsafe, clean, opening, parse_function, with_docstring

# Between the code and the restated signature whose docstring the model writes.
MARKER = "# The same function, with a docstring that says what it does:\n"



def reverse_prompt(code: str, signature: str, indent: str, quotes: str = '"""') -> str:
    """The code, then its signature again with an opened docstring for the model to write."""
    return code.rstrip("\n") + "\n\n\n" + MARKER + signature + indent + quotes


def docstring_end(text: str) -> int | None:
    """Where a sampled docstring ends: at its closing quotes."""
    i = text.find('"""')
    return None if i < 0 else i


def first_line_end(text: str) -> int | None:
    """Where a one-line summary ends: the end of its first non-empty line, or the quotes."""
    q = text.find('"""')
    start = len(text) - len(text.lstrip())
    nl = text.find("\n", start)
    ends = [i for i in (q, nl if text[:nl].strip() else -1) if i >= 0]
    return min(ends) if ends else None


# -- %%docstring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DocCandidate:
    """A distinct docstring, put into the user's code, and how the model ranks it."""

    rank: int
    docstring: str  # the text, cleaned: no quotes, no indentation
    code: str  # the cell with this docstring, everything else as the user wrote it
    score: float  # back-translation: mean log-prob of the user's code after this docstring
    mean_logprob: float  # of the docstring itself, as sampled
    count: int  # how many samples wrote it
    finish_reason: str  # how its sample ended ("stop": its closing quotes)

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "docstring": self.docstring, "code": self.code,
                "score": round(self.score, 6),
                "mean_logprob": _finite(self.mean_logprob), "count": self.count,
                "finish_reason": self.finish_reason}


@dataclass(frozen=True)
class DocResult:
    """The docstring candidates for one function, best first."""

    function: str
    candidates: tuple[DocCandidate, ...]
    refused: tuple[str, ...]  # why each refused sample could not go into the code
    n_samples: int
    model: str
    temperature: float
    seed: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> DocCandidate:
        if not self.candidates:
            raise CodexError("no docstring candidate could be used")
        return self.candidates[0]

    def summary(self) -> str:
        refused = f" · {len(self.refused)} refused" if self.refused else ""
        took = sum(v for k, v in self.timings.items()
                   if k in ("load", "prefill", "decode", "scoring"))
        distinct = len(self.candidates)
        return (f"{self.n_samples} samples · {distinct} distinct "
                f"docstring{'' if distinct == 1 else 's'} for "
                f"{self.function}(){refused} · ranked by back-translation · {self.model} · "
                f"T={self.temperature:g} · seed {self.seed} · {took:.1f} s")

    def to_json(self) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for r in self.refused:
            reasons[r] = reasons.get(r, 0) + 1
        return {"function": self.function,
                "candidates": [c.to_json() for c in self.candidates],
                "refused": [{"reason": r, "count": n} for r, n in reasons.items()],
                "n_samples": self.n_samples, "model": self.model,
                "temperature": self.temperature, "seed": self.seed,
                "timings": {k: v for k, v in self.timings.items() if math.isfinite(v)},
                "summary": self.summary()}

    def to_text(self) -> str:
        out = [self.summary()]
        for reason, n in ((d["reason"], d["count"]) for d in self.to_json()["refused"]):
            out.append(f"refused {n}: {reason}")
        for c in self.candidates:
            out.append(f"\n#{c.rank}  back-translation {c.score:.3f}  ×{c.count}")
            out.append(c.code.rstrip())
        return printable("\n".join(out))


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def write_docstrings(cell: str, options: Options, *, engine: Engine | None = None,
                     progress: ProgressFn | None = None) -> DocResult:
    """Sample ``options.samples`` docstrings for the cell's function, put each into the
    code safely, and rank them by back-translation."""
    with interrupts.interruptible():
        return _write(cell, options, engine, progress or (lambda p: None))


def _write(cell: str, options: Options, engine: Engine | None, report: ProgressFn
           ) -> DocResult:
    fn = parse_function(cell)
    timings: dict[str, float] = {}

    engine, params, on_tokens = prepare_run(options, engine, report, timings)
    prompt = reverse_prompt(fn.source[: fn.end], fn.signature, fn.indent)
    samples = engine.sample(prompt, params, stop=docstring_end, on_progress=on_tokens)
    stats = engine.stats
    timings |= {"prefill": stats.prefill_s, "decode": stats.decode_s,
                "prompt_tokens": float(stats.prompt_tokens),
                "generated_tokens": float(stats.generated_tokens)}

    found: dict[str, list[int]] = {}
    codes: dict[str, str] = {}
    refused: list[str] = []
    for i, s in enumerate(samples):
        text = clean(s.text)
        if text in codes:
            found[text].append(i)
            continue
        try:
            codes[text] = with_docstring(fn, text)
        except Unsafe as e:
            refused.append(str(e))
            continue
        found[text] = [i]

    interrupts.phase("scoring")
    report(Progress("scoring", 0, len(codes), 0))
    texts = list(codes)
    t = time.perf_counter()
    scores = back_translation(engine, fn, [codes[x] for x in texts])
    timings["scoring"] = time.perf_counter() - t

    def order(x: str) -> tuple[float, int, float]:
        members = found[x]
        best = max(samples[i].mean_logprob for i in members)
        return (-scores[texts.index(x)], -len(members), -best)

    ranked = sorted(texts, key=order)
    candidates = []
    for r, x in enumerate(ranked):
        members = found[x]
        rep = max(members, key=lambda i: samples[i].mean_logprob)
        candidates.append(DocCandidate(
            rank=r + 1, docstring=x, code=codes[x], score=scores[texts.index(x)],
            mean_logprob=samples[rep].mean_logprob, count=len(members),
            finish_reason=samples[rep].finish_reason))
    report(Progress("done", len(candidates), len(candidates), 0))
    return DocResult(function=fn.name, candidates=tuple(candidates), refused=tuple(refused),
                     n_samples=params.n, model=engine.name, temperature=params.temperature,
                     seed=params.seed, timings=timings)


def back_translation(engine: Engine, fn: Function, codes: Sequence[str]) -> list[float]:
    """Mean log-prob of the user's code after each docstring: ``codes`` are the cell with
    each docstring in (``with_docstring``), scored in one batched pass.

    The prompt is what precedes the docstring (unchanged in every code); each
    continuation gives the docstring and scores the body that follows it.
    """
    if not codes:
        return []
    tail = len(fn.source) - fn.body_start
    body = fn.source[fn.body_start : fn.end]
    conts = [(c[fn.doc_start : len(c) - tail], body) for c in codes]
    scored = engine.score(fn.source[: fn.doc_start], conts)
    out = []
    for s in scored:
        m = s.mean
        if not math.isfinite(m):
            raise CodexError(f"scoring {fn.name}()'s code gave no finite log-prob")
        out.append(m)
    return out


# -- from a %%codex task: its docstring after a candidate's code ----------------------------


@dataclass(frozen=True)
class TaskParts:
    """What the reverse prompts need of a ``%%codex`` task's function."""

    head: str  # preamble and decorated signature: what every candidate's code starts with
    signature: str  # the def line(s) alone
    indent: str
    quotes: str  # the docstring's opening as the user wrote it (prefix and quotes)
    docstring: str  # the rest of its literal, closing quotes included


def task_parts(task: Task) -> TaskParts:
    try:
        func = ast.parse(task.header).body[-1]
    except (SyntaxError, ValueError, IndexError):
        raise CodexError("cannot read the function's docstring back") from None
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
            ast.get_docstring(func) is None:
        raise CodexError("cannot read the function's docstring back")
    node = func.body[0]
    lines = task.header.split("\n")
    literal = ast.get_source_segment(task.header, node) or '""""""'
    quotes, rest = opening(literal)
    if node.lineno == func.lineno:  # def f(x): """doc"""
        line = lines[func.lineno - 1]
        signature = line[: len(line.encode()[: node.col_offset].decode("utf-8", "ignore"))]
        signature, indent = signature.rstrip() + "\n", "    "
    else:
        signature = "\n".join(lines[func.lineno - 1 : node.lineno - 1]) + "\n"
        doc_line = lines[node.lineno - 1]
        indent = doc_line[: len(doc_line) - len(doc_line.lstrip())]
    return TaskParts(head=task.preamble + task.signature, signature=signature, indent=indent,
                     quotes=quotes, docstring=rest)


def backward_logprobs(engine: Engine, task: Task | str, bodies: Sequence[str]) -> list[float]:
    """Mean log P(the task's docstring | the function with each body), one batched pass.

    ``task`` is a ``%%codex`` task or a prompt (a HumanEval prompt, a cell). Identical
    bodies are scored once. This is the back-translation score of a candidate; the
    review score (``--rank review``) is a candidate's own mean log-prob plus this.
    For the evaluation: ``backward_logprobs(engine, problem["prompt"], completions)``.
    """
    if isinstance(task, str):
        from ..prompt import parse_cell

        task = parse_cell(task)
    parts = task_parts(task)
    unique = list(dict.fromkeys(bodies))
    if not unique:
        return []
    tail = MARKER + parts.signature + parts.indent + parts.quotes
    conts = [(b.rstrip("\n") + "\n\n\n" + tail, parts.docstring) for b in unique]
    scored = engine.score(parts.head, conts)
    means = {b: s.mean for b, s in zip(unique, scored, strict=True)}
    return [means[b] for b in bodies]


def review_scores(engine: Engine, task: Task | str, bodies: Sequence[str],
                  forward: Sequence[float]) -> list[float]:
    """``--rank review``: mean log P(code | prompt) (``forward``, from sampling) plus mean
    log P(docstring | code), per body; -inf where either is missing."""
    back = backward_logprobs(engine, task, bodies)
    return [f + b if math.isfinite(f) and math.isfinite(b) else float("-inf")
            for f, b in zip(forward, back, strict=True)]
