"""The report of an evaluation: per-problem outcomes, the tables and their JSON."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .judge import JudgedSample
from .metrics import HEURISTIC_LABELS, HEURISTICS, mean_pass_at_k, top1_score


@dataclass(frozen=True)
class ProblemResult:
    """One problem's outcome: per temperature, c of n correct and each heuristic's top-1."""

    task_id: str
    n_examples: int
    by_temperature: dict[float, dict[str, Any]]  # {"n", "c", "top1": {heuristic: score}}
    greedy_passed: bool | None = None


@dataclass(frozen=True)
class EvalReport:
    """What ``evaluate_problems`` and ``codex-magic eval`` measured."""

    model: str
    n: int
    temperatures: tuple[float, ...]
    ks: tuple[int, ...]
    problems: tuple[ProblemResult, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    machine: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_problems(self) -> int:
        return len(self.problems)

    @property
    def n_with_examples(self) -> int:
        return sum(p.n_examples > 0 for p in self.problems)

    def pass_at_k(self, temperature: float, k: int) -> float | None:
        """pass@k at one temperature; None when k exceeds the samples drawn."""
        counts = [(p.by_temperature[temperature]["n"], p.by_temperature[temperature]["c"])
                  for p in self.problems]
        if not counts or any(k > n for n, _ in counts):
            return None
        return mean_pass_at_k(counts, k)

    def top1(self, temperature: float, heuristic: str, with_examples_only: bool = False) -> float:
        rows = [p for p in self.problems if p.n_examples > 0 or not with_examples_only]
        if not rows:
            return float("nan")
        return float(np.mean([p.by_temperature[temperature]["top1"][heuristic] for p in rows]))

    def greedy_pass_at_1(self, with_examples_only: bool = False) -> float | None:
        rows = [p for p in self.problems if p.n_examples > 0 or not with_examples_only]
        if not rows or any(p.greedy_passed is None for p in rows):
            return None
        return float(np.mean([bool(p.greedy_passed) for p in rows]))

    def best_temperature(self, k: int) -> float | None:
        """The temperature with the highest pass@k, per the paper's advice to tune it per k."""
        scored = [(v, t) for t in self.temperatures if (v := self.pass_at_k(t, k)) is not None]
        return max(scored)[1] if scored else None

    def to_json(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 6)

        return {
            "model": self.model,
            "n": self.n,
            "temperatures": list(self.temperatures),
            "ks": list(self.ks),
            "n_problems": self.n_problems,
            "n_with_examples": self.n_with_examples,
            "pass_at_k": {
                _tkey(t): {str(k): num(self.pass_at_k(t, k)) for k in self.ks}
                for t in self.temperatures
            },
            "top1": {
                _tkey(t): {h: num(self.top1(t, h)) for h in HEURISTICS}
                for t in self.temperatures
            },
            "top1_problems_with_examples": {
                _tkey(t): {h: num(self.top1(t, h, with_examples_only=True)) for h in HEURISTICS}
                for t in self.temperatures
            },
            "greedy_pass_at_1": num(self.greedy_pass_at_1()),
            "greedy_pass_at_1_problems_with_examples": num(self.greedy_pass_at_1(True)),
            "settings": self.settings,
            "machine": self.machine,
            "seconds": round(self.seconds, 1),
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "problems": [
                {
                    "task_id": p.task_id,
                    "n_examples": p.n_examples,
                    "greedy_passed": p.greedy_passed,
                    "by_temperature": {
                        _tkey(t): {"n": r["n"], "c": r["c"],
                                   "top1": {h: num(v) for h, v in r["top1"].items()}}
                        for t, r in p.by_temperature.items()
                    },
                }
                for p in self.problems
            ],
        }

    def to_markdown(self) -> str:
        """The results table, as docs/evaluation.md shows it."""

        def pct(x: float | None) -> str:
            return "–" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"

        temps = self.temperatures
        head = "| | " + " | ".join(f"T = {t:g}" for t in temps) + " |"
        rule = "|---|" + "---:|" * len(temps)
        lines = [
            f"{self.n_problems} problem{'s' * (self.n_problems != 1)} "
            f"({self.n_with_examples} with usable docstring "
            f"examples), n = {self.n} samples per problem and temperature, model {self.model}.",
            "",
            head,
            rule,
        ]
        for k in self.ks:
            lines.append(f"| pass@{k} | " + " | ".join(pct(self.pass_at_k(t, k)) for t in temps)
                         + " |")
        for h in HEURISTICS:
            lines.append(f"| top-1: {HEURISTIC_LABELS[h]} | "
                         + " | ".join(pct(self.top1(t, h)) for t in temps) + " |")
        greedy = self.greedy_pass_at_1()
        if greedy is not None:
            lines.append(f"| greedy pass@1 (T = 0, one sample) | {pct(greedy)} |"
                         + " |" * (len(temps) - 1))
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def save_plots(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Draw pass@k against k and ranked top-1 by heuristic as PNGs in ``folder``."""
        from .plots import save_plots

        return save_plots(self, folder)


def _tkey(t: float) -> str:
    return f"{t:g}"


def summarize(
    runs: Mapping[float, Mapping[str, Sequence[JudgedSample]]],
    greedy: Mapping[str, Sequence[JudgedSample]] | None,
    problems: Sequence[Mapping[str, Any]],
    *,
    model: str,
    n: int,
    ks: Sequence[int],
    **extra: Any,
) -> EvalReport:
    """An ``EvalReport`` from judged samples grouped by temperature and task id."""
    results = []
    for problem in problems:
        tid = problem["task_id"]
        by_t: dict[float, dict[str, Any]] = {}
        n_examples = 0
        for t, per_task in runs.items():
            samples = per_task[tid]
            n_examples = samples[0].n_examples
            by_t[t] = {
                "n": len(samples),
                "c": sum(s.passed_hidden for s in samples),
                "top1": {h: top1_score(samples, h) for h in HEURISTICS},
            }
        greedy_passed = None
        if greedy is not None:
            g = greedy[tid]
            greedy_passed = bool(g[0].passed_hidden)
            n_examples = g[0].n_examples
        results.append(ProblemResult(tid, n_examples, by_t, greedy_passed))
    return EvalReport(
        model=model,
        n=n,
        temperatures=tuple(runs),
        ks=tuple(ks),
        problems=tuple(results),
        **extra,
    )

