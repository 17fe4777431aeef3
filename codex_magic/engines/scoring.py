"""What scoring returns: the log-probs a model gives texts it did not write.

A continuation is a string (all of it scored) or a pair ``(given, scored)``:
``given`` comes first and conditions the rest without being scored itself (the
candidate's code, before the user's docstring, in ``--rank review``).
``Engine.score`` returns one ``Scored`` per continuation.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..types import mean_logprob

Continuation = str | tuple[str, str]  # all scored, or (given, scored)


@dataclass(frozen=True)
class Scored:
    """The log-prob of each scored token of one continuation, under the model."""

    token_logprobs: tuple[float, ...]
    token_ids: tuple[int, ...] = ()

    @property
    def sum(self) -> float:
        return float(sum(self.token_logprobs))

    @property
    def mean(self) -> float:
        """Mean token log-prob; -inf when nothing was scored."""
        return mean_logprob(self.token_logprobs)


def split(c: Continuation) -> tuple[str, str]:
    """(given, scored) of a continuation."""
    if isinstance(c, str):
        return "", c
    given, scored = c
    return given, scored
