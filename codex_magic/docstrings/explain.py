"""What each candidate does: a one-line summary written by the model from its code alone.

The user's docstring is not in the prompt: the model reads only the candidate's
code (``reverse.reverse_prompt``) and opens a docstring, whose first line is
shown beside the candidate, so a user sees the intent of code before inserting
it (the Codex paper's safety use of the reverse direction). Greedy, batched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..engines import Engine, engine_for
from ..options import Options
from ..render import printable
from ..runtime import interrupts
from ..types import Candidate, Result, Task
from .write import first_line_end, reverse_prompt, task_parts

EXPLAIN_TOKENS = 32  # a one-line summary is rarely longer
EXPLAIN_CHARS = 160


def explain(engine: Engine, task: Task, bodies: Sequence[str],
            max_tokens: int = EXPLAIN_TOKENS) -> list[str]:
    """A one-line summary of what each body does, written by the model from the code
    alone (the user's docstring is not in the prompt); greedy, all in one batch."""
    parts = task_parts(task)
    unique = list(dict.fromkeys(bodies))
    if not unique:
        return []
    suffixes = [reverse_prompt(b, parts.signature, parts.indent) for b in unique]
    texts = engine.complete_each(parts.head, suffixes, max_tokens, first_line_end)
    lines = {b: summary_of(t) for b, t in zip(unique, texts, strict=True)}
    return [lines[b] for b in bodies]


def summary_of(text: str) -> str:
    """The first line of a written docstring, tidied for one line of display."""
    line = next((x.strip() for x in text.split("\n") if x.strip()), "")
    line = line.split('"""')[0].strip()
    if len(line) > EXPLAIN_CHARS:
        line = line[: EXPLAIN_CHARS - 1].rstrip() + "…"
    return printable(line)



def explained(engine: Engine, task: Task, candidates: Sequence[Candidate]
              ) -> tuple[Candidate, ...]:
    """The candidates, each with its one-line ``explanation`` (``explain``)."""
    lines = explain(engine, task, [c.body for c in candidates])
    return tuple(dataclasses.replace(c, explanation=line)
                 for c, line in zip(candidates, lines, strict=True))


def explain_result(cell: str, options: Options, result: Result, context: str = "") -> Result:
    """``result`` with an explanation for each candidate (the widget's button)."""
    from ..prompt import parse_cell

    with interrupts.interruptible():
        task = parse_cell(cell, context)
        engine, _ = engine_for(options)
        return dataclasses.replace(result,
                                   candidates=explained(engine, task, result.candidates))
