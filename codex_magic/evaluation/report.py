"""The report of an evaluation: per-problem outcomes, the tables and their JSON."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .judge import UNVERIFIABLE, JudgedSample
from .metrics import heuristic, heuristics, pass_at_k, top1_score
from .stats import rate_ci


@dataclass(frozen=True)
class ProblemResult:
    """One problem's outcome: per temperature, c of n correct and each heuristic's top-1."""

    task_id: str
    n_examples: int
    by_temperature: dict[float, dict[str, Any]]  # {"n", "c", "top1": {heuristic: score}}
    greedy_passed: bool | None = None
    # The canonical solution passes the prompt's examples (None: none to check), so the
    # examples can favour a correct candidate; False leaves it out of "usable examples".
    canonical_passes_examples: bool | None = None
    unverifiable: int = 0  # hidden-test passes the sandbox could not vouch for (failures)

    @property
    def usable_examples(self) -> bool:
        return self.n_examples > 0 and self.canonical_passes_examples is not False


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
        """Problems with usable examples: parsed, and passed by the canonical solution."""
        return sum(p.usable_examples for p in self.problems)

    def _rows(self, with_examples_only: bool) -> list[ProblemResult]:
        return [p for p in self.problems if p.usable_examples or not with_examples_only]

    def pass_at_k_values(self, temperature: float, k: int) -> list[float] | None:
        """Per-problem pass@k; None when k exceeds the samples drawn."""
        counts = [(p.by_temperature[temperature]["n"], p.by_temperature[temperature]["c"])
                  for p in self.problems]
        if not counts or any(k > n for n, _ in counts):
            return None
        return [pass_at_k(n, c, k) for n, c in counts]

    def pass_at_k(self, temperature: float, k: int) -> float | None:
        """pass@k at one temperature; None when k exceeds the samples drawn."""
        values = self.pass_at_k_values(temperature, k)
        return None if values is None else float(np.mean(values))

    def top1_values(self, temperature: float, heuristic: str,
                    with_examples_only: bool = False) -> list[float]:
        return [p.by_temperature[temperature]["top1"][heuristic]
                for p in self._rows(with_examples_only)]

    def top1(self, temperature: float, heuristic: str, with_examples_only: bool = False) -> float:
        values = self.top1_values(temperature, heuristic, with_examples_only)
        return float(np.mean(values)) if values else float("nan")

    def greedy_values(self, with_examples_only: bool = False) -> list[float] | None:
        rows = self._rows(with_examples_only)
        if not rows or any(p.greedy_passed is None for p in rows):
            return None
        return [float(bool(p.greedy_passed)) for p in rows]

    def greedy_pass_at_1(self, with_examples_only: bool = False) -> float | None:
        values = self.greedy_values(with_examples_only)
        return None if values is None else float(np.mean(values))

    def best_temperature(self, k: int) -> float | None:
        """The temperature with the highest pass@k, per the paper's advice to tune it per k."""
        scored = [(v, t) for t in self.temperatures if (v := self.pass_at_k(t, k)) is not None]
        return max(scored)[1] if scored else None

    def to_json(self) -> dict[str, Any]:
        hs = heuristics()
        return {
            "model": self.model,
            "n": self.n,
            "temperatures": list(self.temperatures),
            "ks": list(self.ks),
            "n_problems": self.n_problems,
            "n_with_examples": self.n_with_examples,
            "ci": "95% Wilson score interval over problems (conservative for means of "
                  "per-problem fractions)",
            "pass_at_k": {temperature_key(t): {str(k): rate(self.pass_at_k_values(t, k))
                                               for k in self.ks}
                          for t in self.temperatures},
            "top1": {temperature_key(t): {h: rate(self.top1_values(t, h)) for h in hs}
                     for t in self.temperatures},
            "top1_problems_with_examples": {
                temperature_key(t): {h: rate(self.top1_values(t, h, True)) for h in hs}
                for t in self.temperatures},
            "greedy_pass_at_1": rate(self.greedy_values()),
            "greedy_pass_at_1_problems_with_examples": rate(self.greedy_values(True)),
            "canonical_fails_examples": [p.task_id for p in self.problems
                                         if p.canonical_passes_examples is False],
            "unverifiable": {p.task_id: p.unverifiable for p in self.problems if p.unverifiable},
            "settings": self.settings,
            "machine": self.machine,
            "seconds": round(self.seconds, 1),
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "problems": [
                {
                    "task_id": p.task_id,
                    "n_examples": p.n_examples,
                    "canonical_passes_examples": p.canonical_passes_examples,
                    "greedy_passed": p.greedy_passed,
                    "by_temperature": {
                        temperature_key(t): {"n": r["n"], "c": r["c"],
                                   "top1": {h: _num(v) for h, v in r["top1"].items()}}
                        for t, r in p.by_temperature.items()
                    },
                }
                for p in self.problems
            ],
        }

    def to_markdown(self) -> str:
        """The results table, each rate with its 95% interval."""
        temps = self.temperatures
        lines = [
            f"{self.n_problems} problem{'s' * (self.n_problems != 1)} "
            f"({self.n_with_examples} with usable docstring examples), n = {self.n} samples "
            f"per problem and temperature, model {self.model}; rate (95% CI).",
            "",
            "| | " + " | ".join(f"T = {t:g}" for t in temps) + " |",
            "|---|" + "---:|" * len(temps),
        ]
        for k in self.ks:
            lines.append(f"| pass@{k} | " + " | ".join(
                _cell(self.pass_at_k_values(t, k)) for t in temps) + " |")
        for h in heuristics():
            lines.append(f"| top-1: {heuristic(h).label} | "
                         + " | ".join(_cell(self.top1_values(t, h)) for t in temps) + " |")
        greedy = self.greedy_values()
        if greedy is not None:
            lines.append(f"| greedy pass@1 (T = 0, one sample) | {_cell(greedy)} |"
                         + " |" * (len(temps) - 1))
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def save_plots(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Draw pass@k against k and ranked top-1 by heuristic as PNGs in ``folder``."""
        from .plots import save_plots

        return save_plots(self, folder)


def temperature_key(t: float) -> str:
    return f"{t:g}"


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def rate(values: Sequence[float] | None) -> dict[str, Any] | None:
    """A rate over problems as results.json holds it: value and 95% interval."""
    if values is None:
        return None
    mean, lo, hi = rate_ci(values)
    return {"value": _num(mean), "ci": [_num(lo), _num(hi)], "problems": len(values)}


def _cell(values: Sequence[float] | None) -> str:
    """A table cell: the rate and its 95% interval."""
    if not values:
        return "–"
    mean, lo, hi = rate_ci(values)
    return f"{100 * mean:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"


def summarize(
    runs: Mapping[float, Mapping[str, Sequence[JudgedSample]]],
    greedy: Mapping[str, Sequence[JudgedSample]] | None,
    problems: Sequence[Mapping[str, Any]],
    *,
    model: str,
    n: int,
    ks: Sequence[int],
    canonical_failures: Mapping[str, str] | None = None,
    **extra: Any,
) -> EvalReport:
    """An ``EvalReport`` from judged samples grouped by temperature and task id;
    ``canonical_failures`` (``judge.canonical_failures``) marks the problems whose
    examples their own canonical solution fails."""
    results = []
    for problem in problems:
        tid = problem["task_id"]
        by_t: dict[float, dict[str, Any]] = {}
        n_examples = unverifiable = 0
        for t, per_task in runs.items():
            samples = per_task[tid]
            n_examples = samples[0].n_examples
            by_t[t] = {
                "n": len(samples),
                "c": sum(s.passed_hidden for s in samples),
                "top1": {h: top1_score(samples, h) for h in heuristics()},
            }
            unverifiable += sum(s.hidden_status == UNVERIFIABLE for s in samples)
        greedy_passed = None
        if greedy is not None:
            g = greedy[tid]
            greedy_passed = bool(g[0].passed_hidden)
            n_examples = g[0].n_examples
            unverifiable += g[0].hidden_status == UNVERIFIABLE
        canonical = None if canonical_failures is None or not n_examples else \
            tid not in canonical_failures
        results.append(ProblemResult(tid, n_examples, by_t, greedy_passed, canonical,
                                     unverifiable))
    return EvalReport(
        model=model,
        n=n,
        temperatures=tuple(runs),
        ks=tuple(ks),
        problems=tuple(results),
        **extra,
    )

