"""The evaluation's intervals, paired tests and top-1-against-n curve, against known values."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace

import numpy as np
import pytest

from codex_magic.evaluation import metrics, stats
from codex_magic.evaluation.judge import JudgedSample


def test_wilson_matches_newcombes_published_intervals() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, Table II, method 3 (Wilson score).
    for k, n, lo, hi in [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                         (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]:
        got = stats.wilson(k, n)
        assert got == pytest.approx((lo, hi), abs=5e-5), (k, n)
    assert stats.wilson(20, 20)[1] == 1.0 and stats.wilson(20, 20)[0] == pytest.approx(
        1 - stats.wilson(0, 20)[1])
    assert stats.wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        stats.wilson(5, 4)


def test_rate_ci_is_wilson_on_the_problem_count() -> None:
    mean, lo, hi = stats.rate_ci([1, 0, 0, 1, 0.5])
    assert mean == pytest.approx(0.5) and (lo, hi) == pytest.approx(stats.wilson(2.5, 5))
    # A mean of fractions is never given a narrower interval than yes/no outcomes would get.
    assert stats.rate_ci([0.5] * 10)[1:] == pytest.approx(stats.wilson(5, 10))


def test_mcnemar_exact_known_values() -> None:
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(4, 1) == pytest.approx(2 * 6 / 32)  # 0.375
    assert stats.mcnemar_exact(1, 4) == stats.mcnemar_exact(4, 1)
    assert stats.mcnemar_exact(10, 0) == pytest.approx(2 / 1024)
    assert stats.mcnemar_exact(3, 3) == 1.0
    # 9 against 6 solved with 5 and 2 discordant problems: the p of about a quarter.
    assert stats.mcnemar_exact(5, 2) == pytest.approx(0.453125)


def test_paired_yes_no_outcomes_use_mcnemar_and_bootstrap_interval() -> None:
    a = [1, 1, 1, 0, 0, 1, 0] + [0] * 20
    b = [0, 0, 0, 0, 0, 1, 1] + [0] * 20
    p = stats.paired(a, b)
    assert (p.only_a, p.only_b, p.test) == (3, 1, "McNemar exact")
    assert p.p == pytest.approx(stats.mcnemar_exact(3, 1))
    assert p.diff == pytest.approx(2 / 27) and p.lo <= p.diff <= p.hi
    assert stats.paired(a, b) == p  # seeded: the same every time


def test_sign_flip_test_is_exact_for_few_differences() -> None:
    d = np.array([0.5, 0.2, 0.3, 0.0, -0.1])
    # All 16 sign patterns of the 4 non-zero differences, counted by hand.
    sums = [abs(sum(s * x for s, x in zip(signs, [0.5, 0.2, 0.3, -0.1], strict=True)))
            for signs in itertools.product((1, -1), repeat=4)]
    want = sum(v >= 0.9 - 1e-9 for v in sums) / 16
    assert stats.sign_flip_p(d) == pytest.approx(want)
    assert stats.sign_flip_p(np.zeros(5)) == 1.0
    # For ±1 differences the sign-flip test is McNemar's exact test.
    for only_a, only_b in [(3, 1), (7, 2), (5, 5)]:
        d = np.array([1.0] * only_a + [-1.0] * only_b)
        assert stats.sign_flip_p(d) == pytest.approx(stats.mcnemar_exact(only_a, only_b))


def js(mean: float, passed: bool, examples: int = 0, n_examples: int = 2,
       completion: str = "    return 1\n") -> JudgedSample:
    return JudgedSample(task_id="t/0", completion=completion, temperature=0.8, seed=0,
                        mean_logprob=mean, sum_logprob=mean * 10, finish_reason="stop",
                        passed_hidden=passed, passed_examples=examples, n_examples=n_examples)


def brute_force_curve(samples: list[JudgedSample], name: str, m: int) -> float:
    """Average over every m-subset of the top-1 score within it."""
    subsets = list(itertools.combinations(samples, m))
    return sum(metrics.top1_score(list(sub), name) for sub in subsets) / len(subsets)


def test_top1_curve_equals_brute_force_over_all_subsets() -> None:
    rng = random.Random(1)
    for _ in range(30):
        pool = [js(rng.choice([-0.1, -0.5, -0.9, -1.3]), rng.random() < 0.3,
                   examples=rng.randint(0, 2),
                   completion=rng.choice(["    return 1\n", "    return (\n", ""]))
                for _ in range(rng.randint(1, 8))]
        for name in metrics.heuristics():
            curve = metrics.top1_curve(pool, name, range(1, len(pool) + 1))
            for m, value in enumerate(curve, 1):
                assert value == pytest.approx(brute_force_curve(pool, name, m)), (name, m)
            assert curve[-1] == pytest.approx(metrics.top1_score(pool, name))


def test_top1_curve_of_random_and_oracle_are_c_over_n_and_pass_at_k() -> None:
    pool = [js(-0.1 * i, i in (2, 5, 7)) for i in range(12)]
    sizes = range(1, 13)
    assert metrics.top1_curve(pool, "random", sizes) == pytest.approx([3 / 12] * 12)
    assert metrics.top1_curve(pool, "oracle", sizes) == pytest.approx(
        [metrics.pass_at_k(12, 3, k) for k in sizes])
    with pytest.raises(ValueError):
        metrics.top1_curve(pool, "random", [13])


def test_heuristic_keys_and_a_new_heuristic_in_one_call() -> None:
    broken = js(-0.01, False, completion="    return (((\n")
    broken = replace(broken, examples_status="syntax error")
    ok = js(-0.5, True, examples=1)
    best = js(-0.9, True, examples=2)
    pool = [broken, ok, best]
    assert metrics.picks(pool, "mean_logprob") == [0]
    assert metrics.picks(pool, "compiles_mean") == [1]
    assert metrics.picks(pool, "examples_only") == [2]
    assert metrics.picks(pool, "examples") == [2]
    assert sorted(metrics.picks(pool, "compiles")) == [1, 2]
    name = "shortest"
    metrics.register(metrics.Heuristic(name, "shortest completion", "shortest",
                                       lambda s: (-len(s.completion),)))
    try:
        assert name in metrics.heuristics() and metrics.picks(pool, name) == [1, 2]
    finally:
        metrics._REGISTRY.pop(name)
    assert not math.isnan(metrics.top1_score(pool, "examples"))
