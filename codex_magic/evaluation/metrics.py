"""What the evaluation measures: pass@k, and the top-1 of each ranking heuristic.

Pure functions of judged samples, with no model, sandbox or files involved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .judge import JudgedSample

HEURISTICS: tuple[str, ...] = ("random", "mean_logprob", "sum_logprob", "examples", "oracle")
HEURISTIC_LABELS = {
    "random": "random pick",
    "mean_logprob": "highest mean log-prob",
    "sum_logprob": "highest sum log-prob",
    "examples": "%%codex's pick: docstring examples, then mean log-prob",
    "oracle": "oracle (passes hidden tests)",
}
GREEDY = "greedy"


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

