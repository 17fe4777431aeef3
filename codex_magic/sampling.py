"""Choosing tokens and keeping the sequences of one batch, engine-independent.

``HostSampler`` picks the next token of many sequences at once from their
logits rows (greedy, or top-k, top-p, temperature, each with its own seeded
generator); ``logsumexp_rows`` normalises the rows for the log-probs used in
ranking. ``Sequences`` grows the n candidates of a batch: their text, tokens
and log-probs, where each stops (a stop rule on the text) and why, and the
final ``Sample``s cut at the stop, log-probs included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .types import Sample

StopRule = Callable[[str], "int | None"]  # text so far -> where it ends, or None


def stop_rule(stop: StopRule | Sequence[str]) -> StopRule:
    """A stop rule from a callable, or from stop strings (the first one found ends it)."""
    if callable(stop):
        return stop
    stops = tuple(s for s in stop if s)

    def find(text: str) -> int | None:
        hits = [i for i in (text.find(s) for s in stops) if i != -1]
        return min(hits) if hits else None

    return find


class HostSampler:
    """Greedy, or top-k then top-p then temperature, for many sequences per step.

    The same rule as llama.cpp's chain (top_k, top_p, temp, dist) but with one
    vectorised top-k over all rows instead of one sampler call per sequence,
    each of which copies and sorts the whole vocabulary. Each sequence draws from
    its own seeded generator, so a seed reproduces its candidate.
    """

    def __init__(self, temperature: float, top_p: float, top_k: int, seeds: Sequence[int]):
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.rngs = {i: np.random.Generator(np.random.PCG64(sd)) for i, sd in enumerate(seeds)}

    def sample(self, logits: np.ndarray, rows: Sequence[int], seqs: Sequence[int]) -> list[int]:
        if self.temperature <= 0:
            best = logits.argmax(axis=1)
            return [int(best[r]) for r in rows]
        n_vocab = logits.shape[1]
        k = min(self.top_k, n_vocab)
        top = np.argpartition(logits, n_vocab - k, axis=1)[:, n_vocab - k:]
        out = []
        for r, s in zip(rows, seqs, strict=True):
            idx = top[r]
            vals = logits[r, idx].astype(np.float64)
            order = np.argsort(-vals, kind="stable")
            idx, vals = idx[order], vals[order]
            if self.top_p < 1.0:
                p = np.exp(vals - vals[0])
                cum = np.cumsum(p / p.sum())
                keep = min(int(np.searchsorted(cum, self.top_p)) + 1, len(vals))
                idx, vals = idx[:keep], vals[:keep]
            q = np.cumsum(np.exp((vals - vals[0]) / self.temperature))
            j = int(np.searchsorted(q, self.rngs[s].random() * q[-1], side="right"))
            out.append(int(idx[min(j, len(idx) - 1)]))
        return out


def logsumexp_rows(x: np.ndarray, buf: np.ndarray | None = None) -> np.ndarray:
    """log(sum(exp(row))) per row, in a reusable buffer (this runs once per step)."""
    m = x.max(axis=1)
    out = np.subtract(x, m[:, None], out=None if buf is None else buf[: x.shape[0]])
    np.exp(out, out=out)
    return m + np.log(out.sum(axis=1))


class Sequences:
    """The n candidates of one batch as they grow, and how each one ended."""

    def __init__(self, seeds: Sequence[int], find_stop: StopRule) -> None:
        n = len(seeds)
        self.seeds = list(seeds)
        self.find_stop = find_stop
        self.active = list(range(n))  # sequences still going, in batch order
        self.pieces: list[list[bytes]] = [[] for _ in range(n)]
        self.token_ids: list[list[int]] = [[] for _ in range(n)]
        self.logprobs: list[list[float]] = [[] for _ in range(n)]
        self.text = [bytearray() for _ in range(n)]
        self.finish = ["length"] * n
        self.cut_at: list[int | None] = [None] * n
        self.generated = 0  # tokens drawn, end tokens included

    @property
    def finished(self) -> int:
        return len(self.seeds) - len(self.active)

    def add(self, s: int, token: int, piece: bytes | None, logprob: float) -> bool:
        """Append one token to sequence s (``piece`` None: an end-of-generation token).

        Returns whether the sequence goes on; the caller drops it from ``active``.
        """
        self.generated += 1
        if piece is None:
            self.finish[s] = "eos"  # the end token is not part of the code
            return False
        self.pieces[s].append(piece)
        self.token_ids[s].append(token)
        self.logprobs[s].append(logprob)
        self.text[s] += piece
        idx = self.find_stop(self.text[s].decode("utf-8", "ignore"))
        if idx is not None:
            self.finish[s], self.cut_at[s] = "stop", idx
            return False
        return True

    def sample(self, s: int) -> Sample:
        """Sequence s as a ``Sample``: text cut at its stop, with the log-probs of the
        tokens that begin before the cut."""
        text = self.text[s].decode("utf-8", "replace")
        lps, ids = self.logprobs[s], self.token_ids[s]
        cut = self.cut_at[s]
        if cut is not None:
            cut_bytes = len(text[:cut].encode("utf-8"))
            kept, pos = 0, 0
            for p in self.pieces[s]:
                if pos >= cut_bytes:
                    break
                pos += len(p)
                kept += 1
            lps, ids, text = lps[:kept], ids[:kept], text[:cut]
        return Sample(text=text, token_logprobs=tuple(lps), finish_reason=self.finish[s],
                      seed=self.seeds[s], token_ids=tuple(ids))

    def samples(self) -> list[Sample]:
        return [self.sample(s) for s in range(len(self.seeds))]
