"""The sequences of one batch as they grow, and where each one stops: engine-independent.

``Sequences`` grows the n candidates of a batch: their text, tokens and
log-probs, where each stops (a stop rule on the text) and why, and the final
``Sample``s cut at the stop, log-probs included. Both engines use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..types import Sample
from .repetition import degenerate, worth_checking

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


# Tests: a sequence for which hold(i) is true ignores its stops and its end token,
# and so runs to max_tokens while the others finish.
hold: Callable[[int], bool] | None = None


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
        held = hold is not None and hold(s)
        if piece is None:
            if not held:
                self.finish[s] = "eos"  # the end token is not part of the code
                return False
            piece = b""
        self.pieces[s].append(piece)
        self.token_ids[s].append(token)
        self.logprobs[s].append(logprob)
        self.text[s] += piece
        idx = self.find_stop(self.text[s].decode("utf-8", "ignore"))
        if idx is not None and not held:
            self.finish[s], self.cut_at[s] = "stop", idx
            return False
        if not held and worth_checking(piece, self.text[s]) and \
                degenerate(self.text[s].decode("utf-8", "replace")):
            self.finish[s] = "repetition"  # kept and tested, just not made longer
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
