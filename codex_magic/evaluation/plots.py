"""The two figures of ``codex-magic eval``: pass@k against k, and ranked top-1 by heuristic.

Drawn on a bare ``matplotlib.figure.Figure`` (Agg canvas), never through pyplot,
so plotting from a notebook leaves the user's backend and open figures alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import EvalReport

PASS_AT_K_PNG = "eval_pass_at_k.png"
RANKING_PNG = "eval_ranking.png"


def save_plots(report: EvalReport, out: str | os.PathLike[str]) -> list[Path]:
    """Write both figures into ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / PASS_AT_K_PNG, out / RANKING_PNG]
    plot_pass_at_k(report, paths[0])
    plot_ranking(report, paths[1])
    return paths


def _subtitle(report: EvalReport) -> str:
    return f"{report.model}, {report.n_problems} problems, n = {report.n}"


def plot_pass_at_k(report: EvalReport, path: str | Path) -> None:
    """pass@k for every k from 1 to n, one line per temperature (the paper's Figure 5)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    ks = list(range(1, report.n + 1))
    for t in report.temperatures:
        values = [report.pass_at_k(t, k) for k in ks]
        ax.plot(ks, [100 * (v or 0.0) for v in values], marker="o", ms=3, label=f"T = {t:g}")
    greedy = report.greedy_pass_at_1()
    if greedy is not None:
        ax.plot([1], [100 * greedy], marker="*", ms=12, ls="none", color="black",
                label="greedy (T = 0)")
    if report.n > 2:
        ax.set_xscale("log")
    ax.set_xticks(ks if report.n <= 10 else [k for k in ks if k in (1, 2, 5, 10, 20, 50, 100)])
    ax.set_xticklabels([str(k) for k in ax.get_xticks()])
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("pass@k (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"HumanEval pass@k\n{_subtitle(report)}", fontsize=10)
    fig.savefig(path)


def plot_ranking(report: EvalReport, path: str | Path) -> None:
    """Share of problems whose top candidate passes the hidden tests (the paper's Figure 7)."""
    from matplotlib.figure import Figure

    from .metrics import HEURISTICS

    labels = {
        "random": "random",
        "mean_logprob": "mean\nlog-prob",
        "sum_logprob": "sum\nlog-prob",
        "examples": "docstring\nexamples",
        "oracle": "oracle",
    }
    fig = Figure(figsize=(6.4, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    temps = report.temperatures
    width = 0.8 / max(1, len(temps))
    for j, t in enumerate(temps):
        xs = [i + (j - (len(temps) - 1) / 2) * width for i in range(len(HEURISTICS))]
        ax.bar(xs, [100 * report.top1(t, h) for h in HEURISTICS], width, label=f"T = {t:g}")
    greedy = report.greedy_pass_at_1()
    if greedy is not None:
        ax.axhline(100 * greedy, color="black", ls="--", lw=1,
                   label=f"greedy pass@1 ({100 * greedy:.1f}%)")
    ax.set_xticks(range(len(HEURISTICS)))
    ax.set_xticklabels([labels[h] for h in HEURISTICS])
    ax.set_ylabel("top-1 passes hidden tests (%)")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    ax.set_title(f"Which of n candidates to show first\n{_subtitle(report)}", fontsize=10)
    fig.savefig(path)
