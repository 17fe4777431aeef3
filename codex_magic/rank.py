"""Ranking: merge identical candidates, then order them.

The Codex paper picks among samples by unit tests when there are some, and by
mean token log-probability when there are none (its best heuristic without
tests). Samples that are the same code up to whitespace are merged and count
how many times the model wrote them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .prompt import normalise
from .types import Candidate, Sample, Verdict


def rank(samples: Sequence[Sample], bodies: Sequence[str], codes: Sequence[str],
         verdicts: Sequence[Verdict], by: str = "tests", seed: int = 0,
         review: Sequence[float] | None = None) -> tuple[Candidate, ...]:
    """Distinct candidates, best first.

    ``by="tests"``: fraction of doctests passed, then mean log-prob (with no doctests
    this is the mean log-prob order). ``by="logprob"``: mean log-prob only.
    ``by="random"``: a seeded shuffle, the baseline the paper compares against.
    ``by="review"``: ``review[i]``, sample i's mean log P(code | prompt) + mean log
    P(docstring | code) (``reverse.review_scores``), the Coder-Reviewer ranking.
    Candidates that do not parse always come last.
    """
    if by == "review" and review is None:
        raise ValueError("ranking by review needs the review scores")
    groups: dict[str, list[int]] = {}
    for i, body in enumerate(bodies):
        groups.setdefault(normalise(body), []).append(i)

    merged = []
    for members in groups.values():
        # The representative is the member the model found likeliest.
        best = max(members, key=lambda i: samples[i].mean_logprob)
        merged.append((best, members))

    def mean(i: int) -> float:
        m = samples[i].mean_logprob
        return m if m == m else float("-inf")

    def key(item: tuple[int, list[int]]) -> tuple[float, ...]:
        i, members = item
        v = verdicts[i]
        broken = 1.0 if v.status == "syntax error" or not bodies[i].strip() else 0.0
        if by == "tests":
            return (broken, -v.fraction, -mean(i), -len(members))
        if by == "review":
            r = review[i] if review is not None else float("nan")
            return (broken, -r if r == r else float("inf"), -mean(i), -len(members))
        return (broken, -mean(i), -len(members))

    if by == "random":
        rng = random.Random(seed)
        rng.shuffle(merged)
        merged.sort(key=lambda item: 1.0 if verdicts[item[0]].status == "syntax error" else 0.0)
    else:
        merged.sort(key=key)

    return tuple(
        Candidate(
            rank=r + 1,
            code=codes[i],
            body=bodies[i],
            verdict=verdicts[i],
            mean_logprob=samples[i].mean_logprob,
            sum_logprob=samples[i].sum_logprob,
            count=len(members),
            seeds=tuple(samples[j].seed for j in members),
            finish_reason=samples[i].finish_reason,
            review=None if review is None else review[i],
        )
        for r, (i, members) in enumerate(merged)
    )
