"""What the evaluation measures: pass@k, and the top-1 of each ranking heuristic.

Pure functions of judged samples, with no model, sandbox or files involved.

A ranking heuristic is a sort key on a sample (higher is better): the sample it
shows first is the one with the highest key, and ties are broken at random, so
its score on a problem is the share of its tied picks that pass. The same key
gives the expected top-1 of a random subset of m of the samples exactly
(``top1_curve``, the paper's Figure 7), without drawing subsets. A new heuristic
(say, a back-translation score stored on each sample) is one ``register`` call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .judge import JudgedSample

GREEDY = "greedy"


@dataclass(frozen=True)
class Heuristic:
    """One way to choose the candidate shown first."""

    name: str
    label: str  # in tables
    short: str  # under a bar of the ranking figure
    key: Callable[[JudgedSample], tuple[Any, ...]]  # higher is better; ties: random


def broken(s: JudgedSample) -> bool:
    """Code ``%%codex`` ranks last: it does not parse, or the body is empty."""
    return s.examples_status in ("syntax error", "empty") or not s.completion.strip()


def examples_passed(s: JudgedSample) -> float:
    """The share of the prompt's usable ``>>>`` examples the sample passed (0 without any)."""
    return s.passed_examples / s.n_examples if s.n_examples else 0.0


def _mean(s: JudgedSample) -> float:
    m = s.mean_logprob
    return m if m == m else float("-inf")


_REGISTRY: dict[str, Heuristic] = {}


def register(h: Heuristic) -> None:
    """Add a heuristic to every table, figure and results file (in registration order)."""
    _REGISTRY[h.name] = h


for _h in (
    Heuristic("random", "random pick", "random", lambda s: ()),
    Heuristic("mean_logprob", "highest mean log-prob", "mean\nlog-prob",
              lambda s: (_mean(s),)),
    Heuristic("sum_logprob", "highest sum log-prob", "sum\nlog-prob",
              lambda s: (s.sum_logprob,)),
    Heuristic("compiles", "compile filter alone (random among code that compiles)",
              "compiles", lambda s: (not broken(s),)),
    Heuristic("compiles_mean", "compile filter, then mean log-prob", "compiles,\nmean lp",
              lambda s: (not broken(s), _mean(s))),
    Heuristic("examples_only", "docstring examples alone (most passed; ties random)",
              "examples\nalone", lambda s: (examples_passed(s),)),
    # What %%codex shows first (rank.rank): code that compiles, most examples passed,
    # then mean log-prob; with no usable examples, compile filter then mean log-prob.
    Heuristic("examples", "%%codex's pick: compile filter, examples, then mean log-prob",
              "%%codex's\npick", lambda s: (not broken(s), examples_passed(s), _mean(s))),
    Heuristic("oracle", "oracle (some sample passes the hidden tests)", "oracle",
              lambda s: (s.passed_hidden,)),
):
    register(_h)


def heuristics() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def heuristic(name: str) -> Heuristic:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown heuristic {name!r}; choose from "
                         f"{', '.join(_REGISTRY)}") from None


# The names as of import (the built-in ones); heuristics() includes later registrations.
HEURISTICS: tuple[str, ...] = heuristics()
HEURISTIC_LABELS = {h.name: h.label for h in _REGISTRY.values()}
# The curve of top-1 against the number of samples (the paper's Figure 7) shows these.
CURVE_HEURISTICS = ("random", "mean_logprob", "sum_logprob", "examples", "oracle")


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


def picks(samples: Sequence[JudgedSample], name: str) -> list[int]:
    """The samples a heuristic would show first: several when they tie."""
    if not samples:
        raise ValueError("no samples to pick from")
    key = heuristic(name).key
    keys = [key(s) for s in samples]
    top = max(keys)
    return [i for i, k in enumerate(keys) if k == top]


def top1_score(samples: Sequence[JudgedSample], name: str) -> float:
    """The chance that the heuristic's top candidate passes the hidden tests."""
    chosen = picks(samples, name)
    return sum(samples[i].passed_hidden for i in chosen) / len(chosen)


def top1_curve(samples: Sequence[JudgedSample], name: str, sizes: Iterable[int]
               ) -> list[float]:
    """Expected top-1 when the heuristic chooses among m samples drawn at random
    (without replacement) from these, for each m in ``sizes``; exact.

    Group the samples by key, best first. The best key present in a random m-subset
    is group g's with probability (C(N - above, m) - C(N - above - size, m)) / C(N, m),
    where ``above`` counts the samples in better groups; the tie-break then picks
    each of g's members equally often, so the pick passes with g's share of passes.
    At m = N this is ``top1_score``; for the oracle it is pass@m, for random c/N.
    """
    if not samples:
        raise ValueError("no samples to pick from")
    key = heuristic(name).key
    groups: dict[tuple[Any, ...], list[bool]] = {}
    for s in samples:
        groups.setdefault(key(s), []).append(bool(s.passed_hidden))
    n_all = len(samples)
    out = []
    for m in sizes:
        if not 1 <= m <= n_all:
            raise ValueError(f"subset size must lie in 1..{n_all}, got {m}")
        total, above, value = math.comb(n_all, m), 0, 0.0
        for k in sorted(groups, reverse=True):
            members = groups[k]
            reach = math.comb(n_all - above, m) - math.comb(n_all - above - len(members), m)
            value += reach / total * (sum(members) / len(members))
            above += len(members)
        out.append(value)
    return out
