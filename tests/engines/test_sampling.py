"""The host sampler: the same tokens as the sampler it replaced, exact log-sum-exp, and
candidates tested while the others still decode. Each test that reads logits runs once
per way of reading them (numpy, and each build of the compiled kernel the CPU has)."""

import numpy as np
import pytest

from codex_magic.engines.llama.host_sampler import HostSampler, Rows, logsumexp_rows


class ReferenceSampler:
    """The host sampler before the group-maximum search (argpartition of every row, a
    per-row loop), kept here as the reference the new one must equal token for token."""

    def __init__(self, temperature, top_p, top_k, seeds):
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.rngs = {i: np.random.Generator(np.random.PCG64(sd)) for i, sd in enumerate(seeds)}

    def sample(self, logits, rows, seqs):
        if self.temperature <= 0:
            best = logits.argmax(axis=1)
            return [int(best[r]) for r in rows]
        n_vocab = logits.shape[1]
        k = min(self.top_k, n_vocab)
        out = []
        for r, s in zip(rows, seqs, strict=True):
            # Canonical order (value, then lower id): where values tie, the old code's
            # order was whatever argpartition left, so ties are compared to this one.
            # Everything at or above the k-th largest value, sorted.
            kth = -np.partition(-logits[r], k - 1)[k - 1]
            near = np.flatnonzero(logits[r] >= kth)
            order = near[np.lexsort((near, -logits[r][near]))][:k]
            idx, vals = order, logits[r, order].astype(np.float64)
            if self.top_p < 1.0:
                p = np.exp(vals - vals[0])
                cum = np.cumsum(p / p.sum())
                keep = min(int(np.searchsorted(cum, self.top_p)) + 1, len(vals))
                idx, vals = idx[:keep], vals[:keep]
            q = np.cumsum(np.exp((vals - vals[0]) / self.temperature))
            j = int(np.searchsorted(q, self.rngs[s].random() * q[-1], side="right"))
            out.append(int(idx[min(j, len(idx) - 1)]))
        return out


def model_like(rng, n, vocab):
    """Rows shaped like a language model's: a broad body and a few strong tokens."""
    x = rng.normal(-2.0, 3.0, size=(n, vocab))
    for r in range(n):
        hot = rng.choice(vocab, size=min(vocab, rng.integers(1, 30)), replace=False)
        x[r, hot] += rng.exponential(8.0, size=len(hot)) + 6.0
    return x.astype(np.float32)


def with_ties(rng, n, vocab):
    """Logits on a coarse grid: many exact ties, at the top-k boundary too."""
    return (np.round(rng.normal(0, 2, size=(n, vocab)) * 2) / 2).astype(np.float32)


SETTINGS = [(0.8, 0.95, 40), (0.2, 0.95, 40), (1.0, 1.0, 40), (1e-4, 0.95, 40),
            (1.5, 0.5, 7), (0.0, 0.95, 40), (0.8, 0.9, 1000), (2.0, 1.0, 1)]
MAKERS = {"model-like": model_like, "random": lambda rng, n, v: rng.normal(
    0, 3, size=(n, v)).astype(np.float32), "ties": with_ties}


@pytest.mark.parametrize("maker", list(MAKERS))
@pytest.mark.parametrize("vocab", [151_936, 262_144, 5_000, 300, 7])
def test_same_tokens_as_the_reference_over_thousands_of_rows(maker, vocab, host_kernel):
    rng = np.random.default_rng(vocab)
    steps = 2 if vocab > 100_000 else 25
    rows_checked = 0
    for temperature, top_p, top_k in SETTINGS:
        seeds = [3, 1, 4, 1, 5, 9, 2, 6]
        new, ref = (cls(temperature, top_p, top_k, seeds) for cls in (HostSampler,
                                                                       ReferenceSampler))
        for _ in range(steps):
            logits = MAKERS[maker](rng, 8, vocab)
            rows = list(rng.integers(0, 8, size=8))  # rows shared, as at the first step
            seqs = list(range(8))
            assert new.sample(logits, rows, seqs) == ref.sample(logits, rows, seqs)
            rows_checked += 8
    assert rows_checked >= 8 * steps * len(SETTINGS)


def test_many_rows_of_one_kind(host_kernel):
    """Thousands of rows through one sampler: its draws stay in step with the reference."""
    rng = np.random.default_rng(7)
    new, ref = HostSampler(0.8, 0.95, 40, range(10)), ReferenceSampler(0.8, 0.95, 40, range(10))
    for _ in range(200):
        logits = model_like(rng, 10, 40_000)  # enough groups for the kernel's top 40
        assert new.sample(logits, range(10), range(10)) == ref.sample(logits, range(10),
                                                                        range(10))


@pytest.mark.parametrize("maker", list(MAKERS))
def test_logsumexp_within_1e5_of_float64(maker, host_kernel):
    rng = np.random.default_rng(1)
    for vocab in (262_144, 151_936, 3_000, 5):
        x = MAKERS[maker](rng, 6, vocab)
        exact = np.logaddexp.reduce(x.astype(np.float64), axis=1)
        assert np.abs(logsumexp_rows(x) - exact).max() < 1e-5
    # Far from zero (a model without normalised logits) takes the shifted path.
    for shift in (-500.0, 200.0):
        x = (rng.normal(0, 3, size=(4, 10_000)) + shift).astype(np.float32)
        exact = np.logaddexp.reduce(x.astype(np.float64), axis=1)
        assert np.abs(logsumexp_rows(x) - exact).max() < 1e-5


def test_top_k_with_ties_keeps_the_lower_ids(host_kernel):
    x = np.zeros((2, 10_000), dtype=np.float32)
    x[0, [9000, 50, 7000]] = 5.0  # three tied maxima
    x[1, 4096::64] = 1.0  # ties spread over one strided group and beyond
    ids, vals = Rows(x, k=2).top_k(2)
    assert ids[0].tolist() == [50, 7000] and vals[0].tolist() == [5.0, 5.0]
    assert ids[1].tolist() == [4096, 4160]
    ids, _ = Rows(np.zeros((1, 5000), np.float32), k=3).top_k(3)
    assert ids[0].tolist() == [0, 1, 2]


def test_tests_run_behind_decoding(default_model, monkeypatch):
    """One sequence held open: the other candidates' verdicts exist before it ends."""
    from codex_magic.engines import sequences
    from codex_magic.options import Options
    from codex_magic.pipeline import solve

    monkeypatch.setattr(sequences, "hold", lambda s: s == 0)
    cell = 'def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    """\n'
    result = solve(cell, Options(samples=4, max_tokens=96, seed=5, temperature=0.5))
    t = result.timings
    assert t["tests_total"] >= 1, "no candidate needed the sandbox"
    assert t["tests_done_while_decoding"] >= 1, t
    held = [c for c in result.candidates if 5 in c.seeds]  # sequence 0 has the base seed
    assert held and t["steps"] == 96
