"""Choosing tokens and keeping the sequences of one batch, engine-independent.

``HostSampler`` picks the next token of many sequences at once from their
logits rows (greedy, or top-k, top-p, temperature, each with its own seeded
generator); ``logsumexp_rows`` normalises the rows for the log-probs used in
ranking. ``Sequences`` grows the n candidates of a batch: their text, tokens
and log-probs, where each stops (a stop rule on the text) and why, and the
final ``Sample``s cut at the stop, log-probs included.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...runtime import usable_cores
from . import rowkernel


class HostSampler:
    """Greedy, or top-k then top-p then temperature, for many sequences per step.

    The same rule as llama.cpp's chain (top_k, top_p, temp, dist), for all rows at
    once. Each sequence draws one uniform number per step from its own seeded
    generator, so a seed reproduces its candidate. Ties in the logits are broken
    by the lower token id, so the result never depends on how a sort orders equals.
    """

    def __init__(self, temperature: float, top_p: float, top_k: int, seeds: Sequence[int]):
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.rngs = [np.random.Generator(np.random.PCG64(sd)) for sd in seeds]

    def k(self, n_vocab: int) -> int:
        """How many of each row's largest values ``choose`` reads (``Rows``'s k)."""
        return 1 if self.temperature <= 0 else min(self.top_k, n_vocab)

    def sample(self, logits: np.ndarray, rows: Sequence[int], seqs: Sequence[int]) -> list[int]:
        """The next token of sequence ``seqs[i]``, whose logits are ``logits[rows[i]]``."""
        return self.choose(logits, rows, seqs, Rows(logits, k=self.k(logits.shape[1])))[0]

    def choose(self, logits: np.ndarray, rows: Sequence[int], seqs: Sequence[int],
               info: Rows) -> tuple[list[int], np.ndarray]:
        """Tokens for the sequences, and the rows' log-sum-exp (for their log-probs)."""
        rows = list(rows)
        idx, vals = info.top_k(self.k(logits.shape[1]))
        if self.temperature <= 0:  # the largest; of equal maxima, the lower id
            return [int(idx[r, 0]) for r in rows], info.logsumexp()
        idx, vals = idx[rows], vals[rows].astype(np.float64)
        k, at = vals.shape[1], np.arange(len(rows))
        keep = np.full(len(rows), k)
        if self.top_p < 1.0:
            p = np.exp(vals - vals[:, :1])
            cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
            keep = np.minimum((cum < self.top_p).sum(axis=1) + 1, k)
        q = np.cumsum(np.exp((vals - vals[:, :1]) / self.temperature), axis=1)
        u = np.array([self.rngs[s].random() for s in seqs])
        j = np.minimum((q <= (u * q[at, keep - 1])[:, None]).sum(axis=1), keep - 1)
        return [int(t) for t in idx[at, j]], info.logsumexp()


# The vocabulary is cut into strided groups of GROUP ids; a row's k largest values lie
# in the groups whose maximum reaches the k-th largest group maximum.
GROUP = 64


class Rows:
    """One step's logits rows, with what several questions about them share.

    Each row's maximum and log-sum-exp, and its k largest values (``top_k``).
    The compiled kernel (``rowkernel``) reads each row once for its group maxima
    and an online log-sum-exp, then ranks the few values near the top exactly.
    Without it, numpy: one pass takes each strided group's maximum, from which
    come each row's maximum and the few groups that can hold its top k values,
    and sums the exponentials slice by slice while they are in the cache.
    Both read the whole vocabulary of every row, so with many rows they are split
    over the usable cores (the kernel and numpy release the GIL; llama.cpp's
    threads are idle between two decodes).
    """

    def __init__(self, x: np.ndarray, buf: np.ndarray | None = None, k: int = 0) -> None:
        self.x = x
        n_rows, n_vocab = x.shape
        self.max = np.empty(n_rows, dtype=x.dtype)
        self.lse = np.empty(n_rows, dtype=np.float64)
        self.gmax: np.ndarray | None = None
        self.top: tuple[np.ndarray, np.ndarray] | None = None
        parts = _split(n_rows, n_vocab)
        self.kernel = (rowkernel.current() is not None and x.dtype == np.float32
                       and x.flags.c_contiguous and rowkernel.takes(n_vocab, k))
        if self.kernel:
            ids, vals = np.empty((n_rows, k), np.int64), np.empty((n_rows, k), np.float32)
            _each(parts, lambda a, b: rowkernel.rows(
                x[a:b], k, (self.max[a:b], self.lse[a:b], ids[a:b], vals[a:b])))
            if not np.isnan(self.lse).any():
                self.top = (ids, vals)
                return
            self.kernel = False  # a NaN or an infinity: numpy decides what it means
        self.n_groups = n_vocab // GROUP
        out = buf[:n_rows] if buf is not None else np.empty_like(x)
        if self.n_groups >= 8:
            self.gmax = np.empty((n_rows, self.n_groups), dtype=x.dtype)
        _each(parts, lambda a, b: self._pass(a, b, out))

    def _pass(self, a: int, b: int, out: np.ndarray) -> None:
        """Rows a..b: group maxima, row maxima, log-sum-exp, in one pass over memory.

        The rows are read a few strided-group slices at a time: each slice's maxima
        and exp-sum are taken while it is still in the cache.
        """
        x = self.x[a:b]
        if self.gmax is None:
            m = x.max(axis=1)
            self.max[a:b] = m
            self.lse[a:b] = _logsumexp(x, m, out[a:b])
            return
        rows, ng, head = b - a, self.n_groups, self.n_groups * GROUP
        total = np.zeros(rows, dtype=np.float64)
        scratch = out[a, : SLICE * ng].reshape(SLICE, ng)
        with np.errstate(over="ignore"):  # rows far from zero are redone below
            for r in range(rows):
                view = x[r, :head].reshape(GROUP, ng)
                g = self.gmax[a + r]
                view[:SLICE].max(axis=0, out=g)
                for s0 in range(0, GROUP, SLICE):
                    piece = view[s0:s0 + SLICE]  # contiguous, and small enough to stay cached
                    if s0:
                        np.maximum(g, piece.max(axis=0), out=g)
                    np.exp(piece, out=scratch)
                    total[r] += scratch.sum()
            m = self.gmax[a:b].max(axis=1)
            if head < x.shape[1]:
                tail = x[:, head:]
                m = np.maximum(m, tail.max(axis=1))
                total += np.exp(tail).sum(axis=1)
        self.max[a:b] = m
        safe = (m < 60.0) & (m > -20.0)  # see _logsumexp
        self.lse[a:b] = np.log(total, where=safe, out=np.full(rows, np.nan))
        for r in map(int, np.flatnonzero(~safe)):
            self.lse[a + r] = _logsumexp(x[r:r + 1], m[r:r + 1], out[a + r:a + r + 1])[0]

    def top_k(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k largest values of each row and their ids, largest first (ties: lower id)."""
        if self.top is not None and self.top[0].shape[1] == k:
            return self.top
        if self.kernel:  # asked for another k than it was made with
            return Rows(self.x, k=k).top_k(k)
        x, n_groups, gmax = self.x, self.n_groups, self.gmax
        n_rows, n_vocab = x.shape
        if gmax is None or k * 8 > n_groups:  # a small vocabulary or a large k
            return _top_k_of(x, np.broadcast_to(np.arange(n_vocab), x.shape), k)
        part = np.argpartition(gmax, n_groups - k, axis=1)[:, n_groups - k:]
        kth = np.take_along_axis(gmax, part, axis=1).min(axis=1)
        offsets = np.arange(GROUP) * n_groups
        ids = (part[:, :, None] + offsets).reshape(n_rows, -1)
        tail = np.arange(n_groups * GROUP, n_vocab)
        ids = np.concatenate([ids, np.broadcast_to(tail, (n_rows, len(tail)))], axis=1)
        out = _top_k_of(np.take_along_axis(x, ids, axis=1), ids, k)
        # A group tied with the k-th group maximum was maybe left out: search it all.
        for r in np.flatnonzero((gmax >= kth[:, None]).sum(axis=1) > k):
            groups = np.flatnonzero(gmax[r] >= kth[r])
            every = np.concatenate([(groups[:, None] + offsets).ravel(), tail])
            got = _top_k_of(x[r][every][None, :], every[None, :], k)
            out[0][r], out[1][r] = got[0][0], got[1][0]
        return out

    def logsumexp(self) -> np.ndarray:
        """log(sum(exp(row))) per row, within 1e-6 of a float64 computation."""
        return self.lse


def _logsumexp(x: np.ndarray, m: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Logits of real models lie within tens of nats of zero: then exp needs no shift
    by the row's maximum (one pass fewer), and float32 neither overflows nor loses
    what matters (terms below e^-87 are under 1e-30 of the largest)."""
    if np.all((m < 60.0) & (m > -20.0)):
        np.exp(x, out=out)
        return np.log(out.sum(axis=1).astype(np.float64))
    np.subtract(x, m[:, None], out=out)
    np.exp(out, out=out)
    return m + np.log(out.sum(axis=1).astype(np.float64))


# Below this many logits a step's passes run in the calling thread: a hand-off to
# another thread costs tens of microseconds.
PARALLEL_ABOVE = 1 << 20
SLICE = 16  # strided-group slices read at a time: 256 kB of a 262k vocabulary's row
_executor: ThreadPoolExecutor | None = None
_cores: int | None = None


def _split(n_rows: int, n_vocab: int) -> list[tuple[int, int]]:
    """Row ranges to work on in parallel: one per usable core, when worth it."""
    global _cores
    if _cores is None:  # read once: the cgroup files are not to be read every step
        _cores = usable_cores()
    workers = min(_cores, n_rows)
    if workers < 2 or n_rows * n_vocab < PARALLEL_ABOVE:
        return [(0, n_rows)]
    cuts = [n_rows * i // workers for i in range(workers + 1)]
    return list(itertools.pairwise(cuts))


def _each(parts: list[tuple[int, int]], work: Callable[[int, int], None]) -> None:
    """work(a, b) for each row range: the last in this thread, the others on the pool."""
    futures = [_pool().submit(work, a, b) for a, b in parts[:-1]]
    try:
        work(*parts[-1])
    finally:
        for f in futures:
            f.result()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_cores or usable_cores(),
                                       thread_name_prefix="codex-rows")
    return _executor


def _top_k_of(vals: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k of each row of (vals, ids): by value, then by lower id."""
    n = vals.shape[1]
    part = (np.argpartition(vals, n - k, axis=1)[:, n - k:] if k < n
            else np.broadcast_to(np.arange(n), vals.shape))
    pv, pi = np.take_along_axis(vals, part, axis=1), np.take_along_axis(ids, part, axis=1)
    order = np.lexsort((pi, -pv), axis=1)
    top_v, top_i = np.take_along_axis(pv, order, axis=1), np.take_along_axis(pi, order, axis=1)
    # Values equal to the k-th beyond those kept: keep the lowest ids among them instead.
    for r in np.flatnonzero((vals >= top_v[:, -1:]).sum(axis=1) > k):
        kth = top_v[r, -1]
        above = np.flatnonzero(vals[r] > kth)
        equal = np.flatnonzero(vals[r] == kth)
        equal = equal[np.argsort(ids[r][equal], kind="stable")][: k - len(above)]
        pick = np.concatenate([above, equal])
        o = np.lexsort((ids[r][pick], -vals[r][pick]))
        top_v[r], top_i[r] = vals[r][pick][o], ids[r][pick][o]
    return np.ascontiguousarray(top_i), np.ascontiguousarray(top_v)


def logsumexp_rows(x: np.ndarray, buf: np.ndarray | None = None) -> np.ndarray:
    """log(sum(exp(row))) per row (see ``Rows.logsumexp``)."""
    return Rows(x, buf).logsumexp()


