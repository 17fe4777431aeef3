"""Degenerate samples: a sequence that only repeats itself is ended early.

Small models fall into loops (the same line forty times, two lines in turn, a
pattern without end on one line) and decode them to ``--max-tokens``: no
ranking ever picks such a sample, and the rest of the batch waits for it. A
sequence whose last non-blank lines are one block of one to four lines said
again and again, or whose current line ends in a short pattern repeated many
times, is ended with the finish reason "repetition". Its text is kept, tested
and ranked like any other; it is only not made longer.

The thresholds leave every correct HumanEval solution alone (checked token by
token in the tests): real code repeats a line a few times, not six in a row.
"""

from __future__ import annotations

import os

# CODEX_MAGIC_REPETITION_STOP=0 turns the stop off, to measure what it saves
# (docs/evaluation.md); read once, when the module is imported.
ENABLED = os.environ.get("CODEX_MAGIC_REPETITION_STOP", "1").strip().lower() not in (
    "0", "false", "no", "off")

# Block of lines -> how many times in a row it must appear to count as a loop.
LINE_REPEATS = {1: 6, 2: 4, 3: 4, 4: 4}
LONG_LINE = 160  # characters on one line before its tail is checked
PATTERN_REPEATS = 8  # times a pattern of up to MAX_PATTERN characters must repeat
MAX_PATTERN = 20


def degenerate(text: str) -> bool:
    """Whether the text so far ends in a loop (see the module's docstring)."""
    *done, current = text.split("\n")
    lines = [line.rstrip() for line in done if line.strip()]
    for period, times in LINE_REPEATS.items():
        need = period * times
        if len(lines) >= need:
            tail = lines[-need:]
            if tail == tail[:period] * times:
                return True
    if len(current) >= LONG_LINE:
        for p in range(1, MAX_PATTERN + 1):
            seg = current[-p * PATTERN_REPEATS:]
            if seg == seg[:p] * PATTERN_REPEATS:
                return True
    return False


def worth_checking(piece: bytes, text: bytearray) -> bool:
    """Cheap test of whether ``degenerate`` could have changed with this token."""
    if not ENABLED:
        return False
    if b"\n" in piece:
        return True
    last = text.rfind(b"\n")
    return len(text) - last - 1 >= LONG_LINE
