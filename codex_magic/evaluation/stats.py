"""Uncertainty: 95% intervals for rates and paired tests between two ways of choosing.

Plain functions of numbers (no scipy needed), deterministic: the bootstrap and the
sign-flip test draw from a fixed seed, so a results file regenerates exactly.

- ``wilson``: the Wilson score interval for a rate over m problems. For a yes/no
  outcome per problem (greedy passes, some sample passes) it is the textbook
  interval. For a mean of per-problem fractions (pass@1 = mean of c/n, a top-1
  with tied picks) it is conservative: a value in [0, 1] with mean p has a
  variance of at most p(1 - p), the variance of a yes/no outcome.
- ``paired``: two scores on the same problems (``%%codex``'s pick against greedy,
  one heuristic against another): the difference, its paired bootstrap interval,
  and a two-sided p from the sign-flip test, which for yes/no outcomes is exactly
  McNemar's exact test (``mcnemar_exact``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
BOOTSTRAP_RESAMPLES = 10_000
SIGN_FLIPS = 20_000
SEED = 20211207  # fixed, so the intervals regenerate exactly


def wilson(successes: float, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` of ``trials`` (a fractional count is
    a mean of fractions times ``trials``); (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in [0, {trials}], got {successes}")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2))
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """A rate over problems (mean of per-problem values in [0, 1]) and its Wilson interval."""
    m = len(values)
    if m == 0:
        return math.nan, 0.0, 1.0
    mean = float(np.mean(values))
    lo, hi = wilson(min(max(mean * m, 0.0), m), m)
    return mean, lo, hi


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p: of the problems where exactly one of A and B passes,
    ``only_a`` favour A and ``only_b`` favour B; under "no difference" each is a fair coin."""
    m = only_a + only_b
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(only_a, only_b) + 1)) / 2**m
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Paired:
    """A minus B on the same problems."""

    a: float
    b: float
    diff: float
    lo: float  # 95% paired bootstrap interval of the difference
    hi: float
    p: float  # two-sided; exact McNemar for yes/no outcomes
    only_a: int  # problems where A scores more than B
    only_b: int
    test: str  # "McNemar exact" or "sign-flip"

    def to_json(self) -> dict[str, float | int | str | list[float]]:
        return {"a": round(self.a, 6), "b": round(self.b, 6), "diff": round(self.diff, 6),
                "ci": [round(self.lo, 6), round(self.hi, 6)], "p": round(self.p, 6),
                "a_better": self.only_a, "b_better": self.only_b, "test": self.test}


def paired(a: Sequence[float], b: Sequence[float]) -> Paired:
    """Compare two per-problem scores (values in [0, 1], same problems, same order)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) == 0:
        raise ValueError("paired scores need two equally long, non-empty sequences")
    d = x - y
    rng = np.random.Generator(np.random.PCG64(SEED))
    idx = rng.integers(0, len(d), size=(BOOTSTRAP_RESAMPLES, len(d)))
    boot = d[idx].mean(axis=1)
    lo, hi = (float(v) for v in np.quantile(boot, [0.025, 0.975]))
    only_a, only_b = int((d > 1e-12).sum()), int((d < -1e-12).sum())
    binary = bool(np.all(np.isin(x, (0.0, 1.0))) and np.all(np.isin(y, (0.0, 1.0))))
    if binary:
        p, test = mcnemar_exact(only_a, only_b), "McNemar exact"
    else:
        p, test = sign_flip_p(d, rng), "sign-flip"
    return Paired(float(x.mean()), float(y.mean()), float(d.mean()), lo, hi, p,
                  only_a, only_b, test)


def sign_flip_p(d: np.ndarray, rng: np.random.Generator | None = None) -> float:
    """Two-sided p of the paired sign-flip (permutation) test of mean(d) = 0: exact over
    all sign patterns when at most 16 differences are non-zero, else from SIGN_FLIPS draws."""
    nz = d[np.abs(d) > 1e-12]
    if len(nz) == 0:
        return 1.0
    observed = abs(nz.sum()) - 1e-9
    if len(nz) <= 16:
        signs = 1 - 2 * ((np.arange(2 ** len(nz))[:, None] >> np.arange(len(nz))) & 1)
        return float(np.mean(np.abs(signs @ nz) >= observed))
    rng = rng or np.random.Generator(np.random.PCG64(SEED))
    signs = rng.choice((-1.0, 1.0), size=(SIGN_FLIPS, len(nz)))
    # Counting the observed pattern itself keeps a Monte Carlo p above zero.
    return float((np.sum(np.abs(signs @ nz) >= observed) + 1) / (SIGN_FLIPS + 1))

