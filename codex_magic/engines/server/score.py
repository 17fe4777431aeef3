"""``ServerEngine.score``: log-probs of given text through an OpenAI-compatible server.

The completions protocol scores text it did not write when asked to ``echo`` the
prompt with ``logprobs``: the reply then carries a log-prob (and a character
offset) for every prompt token. vLLM and llama-cpp-python's server (with
``logits_all``) do this; llama.cpp's ``llama-server`` does not echo. A server that
cannot gets one clear "not available" line, never a made-up score.

Each continuation is one request (``max_tokens`` 1: some servers refuse 0; the one
token it writes is ignored), asked for one after another so that servers that
serve one request at a time are not cut short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...types import CodexError
from ..scoring import Continuation, Scored, split
from .client import Call, StatusError, wait_for

if TYPE_CHECKING:
    from .draw import Server


def not_available(engine: Server, why: str) -> CodexError:
    return CodexError(
        f"scoring is not available through the server at {engine.url}: {why}; back-translation "
        "(%%docstring) and --rank review need the log-probs of given text (echo with "
        "logprobs: vLLM and llama-cpp-python's server give them, llama-server does not); run "
        "the model in the kernel instead (no --server)")


def score_server(engine: Server, prompt: str, continuations: Sequence[Continuation]
                 ) -> list[Scored]:
    out = []
    for c in continuations:
        given, scored = split(c)
        full, start = prompt + given + scored, len(prompt) + len(given)
        body = {"model": engine.model, "prompt": full, "max_tokens": 1, "temperature": 0.0,
                "echo": True, "logprobs": 1}
        def ask(call: Call, body: dict[str, Any] = body) -> Any:
            return engine.client.post_json(call, "/completions", body)

        try:
            reply = wait_for(ask)
        except StatusError as e:
            if e.status in (400, 404, 422, 501):
                raise not_available(engine, f"it refused echo with logprobs ({e.status})"
                                    ) from None
            raise
        out.append(_scored(engine, reply, full, start) if scored else Scored(()))
    return out


def _scored(engine: Server, reply: Any, full: str, start: int) -> Scored:
    """The log-probs of the tokens that begin at or after ``start`` in the echoed text."""
    choices = reply.get("choices") if isinstance(reply, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    lp = choice.get("logprobs") if isinstance(choice, dict) else None
    text = choice.get("text") if isinstance(choice, dict) else None
    tokens = lp.get("tokens") if isinstance(lp, dict) else None
    values = lp.get("token_logprobs") if isinstance(lp, dict) else None
    offsets = lp.get("text_offset") if isinstance(lp, dict) else None
    if not (isinstance(text, str) and text.startswith(full) and isinstance(tokens, list)
            and isinstance(values, list) and len(tokens) == len(values)):
        raise not_available(engine, "it did not echo the text with its log-probs")
    if not (isinstance(offsets, list) and len(offsets) == len(tokens)):
        offsets, at = [], 0
        for t in tokens:
            offsets.append(at)
            at += len(t) if isinstance(t, str) else 0
    picked = []
    for off, value in zip(offsets, values, strict=True):
        if isinstance(off, int) and start <= off < len(full):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise not_available(engine, "it gave no log-prob for a token of the text")
            picked.append(float(value))
    if not picked:
        raise not_available(engine, "it gave no log-probs for the text to score")
    return Scored(tuple(picked))
