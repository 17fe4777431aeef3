"""The figures of the evaluation, each with its 95% intervals as error bars or bands.

- pass@k against k, one line per temperature (``codex-magic eval`` and the docs);
- ranked top-1 by heuristic (the same);
- top-1 against the number of samples n, per heuristic (the paper's Figure 7; docs);
- the temperature sweep (docs).

Each draws from the JSON of a report (``EvalReport.to_json()``, or a part of
``results.json``), so the docs' figures come from committed files like its tables.
Drawn on a bare ``matplotlib.figure.Figure`` (Agg canvas), never through pyplot,
so plotting from a notebook leaves the user's backend and open figures alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PASS_AT_K_PNG = "eval_pass_at_k.png"
RANKING_PNG = "eval_ranking.png"
TOP1_VS_N_PNG = "eval_top1_vs_n.png"
TEMPERATURE_PNG = "eval_temperature.png"


class Report(Protocol):
    """What the figures are drawn from (an ``EvalReport``): its results as JSON."""

    def to_json(self) -> dict[str, Any]: ...


def save_plots(report: Report, out: str | os.PathLike[str]) -> list[Path]:
    """Write the pass@k and ranking figures into ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_json()
    paths = [out / PASS_AT_K_PNG, out / RANKING_PNG]
    plot_pass_at_k(data, paths[0])
    plot_ranking(data, paths[1])
    return paths


def _figure() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(6.8, 4.4), dpi=110, layout="constrained")


def _errors(rates: list[Mapping[str, Any]]) -> tuple[list[float], list[list[float]]]:
    values = [100 * r["value"] for r in rates]
    lows = [v - 100 * r["ci"][0] for v, r in zip(values, rates, strict=True)]
    highs = [100 * r["ci"][1] - v for v, r in zip(values, rates, strict=True)]
    return values, [lows, highs]


def _subtitle(data: Mapping[str, Any]) -> str:
    model = f"{data['model']}, " if data.get("model") else ""
    return f"{model}{data['n_problems']} problems, n = {data['n']}; bars: 95% CI"


def plot_pass_at_k(data: Mapping[str, Any], path: str | Path) -> None:
    """pass@k for each k reported, one line per temperature, 95% bands (the paper's Fig. 5)."""
    fig = _figure()
    ax = fig.add_subplot()
    for t, by_k in data["pass_at_k"].items():
        ks = [int(k) for k, r in by_k.items() if r is not None]
        rates = [by_k[str(k)] for k in ks]
        values, _ = _errors(rates)
        line = ax.plot(ks, values, marker="o", ms=3, label=f"T = {t}")[0]
        ax.fill_between(ks, [100 * r["ci"][0] for r in rates], [100 * r["ci"][1] for r in rates],
                        color=line.get_color(), alpha=0.12)
    greedy = data.get("greedy_pass_at_1")
    if greedy:
        v, err = _errors([greedy])
        ax.errorbar([1], v, yerr=err, marker="*", ms=12, ls="none", color="black", capsize=4,
                    label="greedy (T = 0)")
    _k_axis(ax, data["n"])
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("pass@k (%)")
    _finish(ax, f"HumanEval pass@k\n{_subtitle(data)}")
    fig.savefig(path)


def _k_axis(ax: Axes, n: int) -> None:
    if n > 2:
        ax.set_xscale("log")
    ticks = [k for k in range(1, n + 1) if n <= 10 or k in (1, 2, 5, 10, 20, 30, 50, 100)]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(k) for k in ticks])
    ax.minorticks_off()


def _finish(ax: Axes, title: str) -> None:
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)


def plot_ranking(data: Mapping[str, Any], path: str | Path) -> None:
    """Share of problems whose top candidate passes the hidden tests, per heuristic."""
    from .metrics import heuristic

    fig = _figure()
    ax = fig.add_subplot()
    temps = list(data["top1"])
    names = list(data["top1"][temps[0]])
    width = 0.8 / max(1, len(temps))
    for j, t in enumerate(temps):
        xs = [i + (j - (len(temps) - 1) / 2) * width for i in range(len(names))]
        values, err = _errors([data["top1"][t][h] for h in names])
        ax.bar(xs, values, width, yerr=err, capsize=2, label=f"T = {t}",
               error_kw={"lw": 0.8})
    greedy = data.get("greedy_pass_at_1")
    if greedy:
        ax.axhline(100 * greedy["value"], color="black", ls="--", lw=1,
                   label=f"greedy pass@1 ({100 * greedy['value']:.1f}%)")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([heuristic(h).short for h in names], fontsize=7)
    ax.set_ylabel("top-1 passes hidden tests (%)")
    _finish(ax, f"Which of n candidates to show first\n{_subtitle(data)}")
    fig.savefig(path)


def plot_top1_vs_n(curve: Mapping[str, Any], model: str, path: str | Path) -> None:
    """Top-1 against the number of samples n, per heuristic, 95% bands (the paper's Fig. 7)."""
    from .metrics import heuristic

    fig = _figure()
    ax = fig.add_subplot()
    for h, points in curve["by_heuristic"].items():
        ns = [p["n"] for p in points]
        values, _ = _errors(points)
        line = ax.plot(ns, values, marker="o", ms=2.5, label=heuristic(h).short.replace("\n", " "))
        ax.fill_between(ns, [100 * p["ci"][0] for p in points],
                        [100 * p["ci"][1] for p in points], color=line[0].get_color(),
                        alpha=0.10)
    _k_axis(ax, curve["N"])
    ax.set_xlabel("n (samples the heuristic chooses from)")
    ax.set_ylabel("top-1 passes hidden tests (%)")
    _finish(ax, f"Top-1 against n (subsets of {curve['N']} samples at T = "
                f"{curve['temperature']:g})\n{model}, {len(curve['problems'])} problems; "
                "bands: 95% CI")
    fig.savefig(path)


def plot_temperature(sweep: Mapping[str, Any], model: str, path: str | Path) -> None:
    """pass@1, pass@n and the pick's top-1 against temperature, with 95% error bars."""
    fig = _figure()
    ax = fig.add_subplot()
    table = sweep["by_temperature"]
    temps = sorted(table, key=float)
    metrics = [m for m in table[temps[0]] if m != "cost"]
    for j, m in enumerate(metrics):
        xs = [float(t) + (j - 1) * 0.008 for t in temps]
        values, err = _errors([table[t][m] for t in temps])
        label = "%%codex's pick (top-1)" if m == "pick" else m
        ax.errorbar(xs, values, yerr=err, marker="o", ms=4, capsize=3, label=label)
    ax.set_xticks([float(t) for t in temps])
    ax.set_xlabel("temperature")
    ax.set_ylabel("% of problems")
    _finish(ax, f"Temperature sweep\n{model}, first {sweep['problems']} problems; "
                "bars: 95% CI")
    fig.savefig(path)
