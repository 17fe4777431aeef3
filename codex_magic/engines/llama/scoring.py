"""Scoring: the log-probs a model gives texts it did not write, without sampling.

Back-translation ranks docstrings by how likely the model finds the user's code
after each one, and ``--rank review`` adds how likely it finds the user's
docstring after each candidate's code. Both ask one question many times: after
a shared prompt, how likely is each continuation? ``Engine.score`` answers it,
and the llama.cpp engine answers it in one batched pass (``score_llama``): the
prompt is decoded once into the KV cache (reused from the last call where it
can be), every continuation becomes a sequence sharing those cells, and all
continuations' tokens are decoded together with logits on the positions that
are scored. A log-prob is ``logit - logsumexp(row)``, the untempered
log-softmax, as for sampled tokens.

A continuation is a string (all of it scored) or a pair ``(given, scored)``:
``given`` comes first and conditions the rest without being scored itself (the
candidate's code, before the user's docstring, in ``--rank review``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...runtime import interrupts
from ...types import CodexError
from ..scoring import Continuation, Scored, split
from ..sequences import Sequences, StopRule
from .host_sampler import logsumexp_rows

if TYPE_CHECKING:
    from .context import Context, Loaded


# The logits one decode may ask for: a row is a vocabulary of floats (1 MiB for Gemma 3's
# 262,144 tokens) and llama.cpp keeps the largest buffer it was ever asked for. Fewer rows
# per decode cost little speed; results differ from one long decode by rounding only.
LOGITS_BYTES_PER_DECODE = 64 << 20


def rows_per_decode(n_vocab: int) -> int:
    return max(16, min(512, LOGITS_BYTES_PER_DECODE // (4 * max(1, n_vocab))))


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class _Item:
    tokens: list[int]  # prompt + given + scored, tokenized as one text
    first: int  # index in tokens of the first scored token


def _plan(engine: Loaded, prompt: str, continuations: Sequence[Continuation]
          ) -> tuple[list[int], list[_Item]]:
    """The shared prompt tokens and, per continuation, its tokens and what is scored.

    Each text is tokenized whole, as the model would read it; where the prompt's
    last token merges with the continuation's first characters, the shared
    prefix is one token shorter, so no continuation is forced into a tokenization
    the model would not use.
    """
    p = engine.tokenize(prompt)
    items, shared = [], len(p)
    for c in continuations:
        given, scored = split(c)
        full = engine.tokenize(prompt + given + scored)
        head = engine.tokenize(prompt + given) if given else p
        shared = min(shared, _common(p, full))
        items.append(_Item(full, _common(head, full)))
    if shared < 1:
        raise CodexError("nothing to score after an empty prompt")
    for it in items:
        it.first = max(it.first, shared)
    return p[:shared], items


def _prefix_context(engine: Loaded, shared: list[int], n_seq: int, n_cells: int
                    ) -> tuple[Context, np.ndarray]:
    """A context holding ``shared`` in sequence 0 (its KV reused where it can be) and
    copied to sequences 1..n_seq-1; the logits row of its last token."""
    n_ctx = len(shared) + n_cells + 1
    if engine.n_ctx_cap is not None and n_ctx > engine.n_ctx_cap:
        raise CodexError(f"scoring needs a context of {n_ctx} tokens, more than --n-ctx "
                         f"{engine.n_ctx_cap}: lower --samples or --max-tokens (or raise "
                         "--n-ctx)")
    ctx = engine.context_for(n_seq, n_ctx)
    ctx.prefill(shared[:-1])
    ctx.decode([(shared[-1], len(shared) - 1, 0, True)])
    ctx.kept = list(shared)
    row = np.array(ctx.logits_rows(1)[0], dtype=np.float32)
    ctx.fork(n_seq)
    return ctx, row


def _check_length(engine: Loaded, longest: int) -> None:
    if longest > engine.n_ctx_train:
        raise CodexError(f"a text to score is {longest} tokens, more than the model's context "
                         f"of {engine.n_ctx_train}: shorten the cell")


def score_llama(engine: Loaded, prompt: str, continuations: Sequence[Continuation]
                ) -> list[Scored]:
    """``Engine.score`` for the llama.cpp engine: one batched pass, no sampling (in the
    engine's ``session``)."""
    shared, items = _plan(engine, prompt, continuations)
    n, s0 = len(items), len(shared)
    _check_length(engine, max(len(it.tokens) for it in items))
    interrupts.phase("scoring")
    ctx, row0 = _prefix_context(engine, shared, n, sum(len(it.tokens) - s0 for it in items))
    logprobs: list[list[float]] = [[] for _ in items]
    try:
        lse0 = float(logsumexp_rows(row0[None, :])[0])
        # Token i of a continuation is predicted by the logits after token i - 1: the
        # shared prompt's last row for i == s0, else an output row of this pass.
        entries: list[tuple[int, int, int, bool]] = []
        targets: list[tuple[int, int]] = []  # (continuation, token predicted) per output row
        for j, it in enumerate(items):
            if it.first == s0 and len(it.tokens) > s0:
                logprobs[j].append(float(row0[it.tokens[s0]]) - lse0)
            for i in range(s0, len(it.tokens) - 1):
                wanted = i + 1 >= it.first
                entries.append((it.tokens[i], i, j, wanted))
                if wanted:
                    targets.append((j, it.tokens[i + 1]))
        for chunk, rows in _chunks(entries, targets, ctx.batch_size,
                                   rows_per_decode(engine.n_vocab)):
            interrupts.phase("scoring")
            ctx.decode(chunk)
            if not rows:
                continue
            logits = ctx.logits_rows(len(rows))
            lse = logsumexp_rows(logits)
            for r, (j, tok) in enumerate(rows):
                logprobs[j].append(float(logits[r, tok] - lse[r]))
    finally:
        ctx.trim(n, s0)
    return [Scored(tuple(lp), tuple(it.tokens[it.first:]))
            for lp, it in zip(logprobs, items, strict=True)]


def _chunks(entries: list[tuple[int, int, int, bool]], targets: list[tuple[int, int]],
            batch_size: int, max_rows: int
            ) -> list[tuple[list[tuple[int, int, int, bool]], list[tuple[int, int]]]]:
    """Entries cut into decodes of at most ``batch_size`` tokens and ``max_rows``
    output rows, each with the targets of its rows (in order)."""
    out: list[tuple[list[tuple[int, int, int, bool]], list[tuple[int, int]]]] = []
    chunk: list[tuple[int, int, int, bool]] = []
    rows: list[tuple[int, int]] = []
    t = 0
    for e in entries:
        if len(chunk) == batch_size or (e[3] and len(rows) == max_rows):
            out.append((chunk, rows))
            chunk, rows = [], []
        chunk.append(e)
        if e[3]:
            rows.append(targets[t])
            t += 1
    if chunk:
        out.append((chunk, rows))
    return out


def greedy_each(engine: Loaded, prompt: str, suffixes: Sequence[str], max_tokens: int,
                stop: StopRule) -> list[str]:
    """The greedy continuation of ``prompt + suffix`` for every suffix, in one batch.

    The prompt is decoded once and shared; each suffix is decoded into its own
    sequence (all in the same decodes), then every sequence takes its likeliest
    token, step after step, until ``stop`` finds the end of its text or it has
    ``max_tokens`` (in the engine's ``session``). What explains candidates in a sentence
    each.
    """
    shared, items = _plan(engine, prompt, suffixes)
    n, s0 = len(items), len(shared)
    _check_length(engine, max(len(it.tokens) for it in items) + max_tokens)
    interrupts.phase("explaining")
    cells = sum(len(it.tokens) - s0 for it in items) + n * max_tokens
    ctx, row0 = _prefix_context(engine, shared, n, cells)
    seqs = Sequences([0] * n, stop)
    try:
        # Logits after each suffix's last token: its row in the suffixes' decodes, or
        # the shared prompt's row for an empty suffix.
        last: dict[int, np.ndarray] = {}
        entries = [(it.tokens[i], i, j, i == len(it.tokens) - 1)
                   for j, it in enumerate(items) for i in range(s0, len(it.tokens))]
        owners = [e[2] for e in entries if e[3]]
        for chunk, rows in _chunks(entries, [(j, 0) for j in owners], ctx.batch_size,
                                   rows_per_decode(engine.n_vocab)):
            interrupts.phase("explaining")
            ctx.decode(chunk)
            logits = ctx.logits_rows(len(rows))
            for r, (j, _) in enumerate(rows):
                last[j] = np.array(logits[r])
        pos = [len(it.tokens) for it in items]
        current = np.stack([last.get(j, row0) for j in range(n)])
        rows_of = list(range(n))
        for step in range(max_tokens):
            interrupts.phase("explaining")
            best = current.argmax(axis=1)
            going, entries = [], []
            for s in seqs.active:
                tok = int(best[rows_of[s]])
                piece = None if engine.is_eog(tok) else engine.piece(tok)
                if seqs.add(s, tok, piece, 0.0) and step + 1 < max_tokens:
                    going.append(s)
                    entries.append((tok, pos[s], s, True))
                    pos[s] += 1
            seqs.active = going
            if not going:
                break
            ctx.decode(entries)
            current = ctx.logits_rows(len(going))
            rows_of = [0] * n
            for i, s in enumerate(going):
                rows_of[s] = i
    finally:
        ctx.trim(n, s0)
    return [s.text for s in seqs.samples()]
