"""The study behind docs/evaluation.md, computed from committed sample files only.

A results folder (``docs/results/<model>/``) holds one sub-folder per run, each with
the ``run.json`` of ``codex-magic eval`` and its samples as ``samples_*.jsonl.gz``:

- ``main``: every problem at the main temperatures, n samples each, and greedy;
- ``no_stop``: the first problems again with the repetition stop turned off
  (``CODEX_MAGIC_REPETITION_STOP=0``), same seeds, to measure what it saves;
- ``sweep``: more temperatures on the first problems;
- ``pool``: more samples at one temperature on a fixed subset, which with ``main``'s
  form one pool per problem for the top-1-against-n curve.

``build`` turns them into the dict that ``results.json`` holds: every rate with
its 95% interval, the paired tests, the canonical check. Nothing here samples; only
the canonical check runs code (each problem's own solution on its examples).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .judge import UNVERIFIABLE, JudgedSample, canonical_failures, examples_from_prompt
from .metrics import CURVE_HEURISTICS, GREEDY, heuristics, top1_curve
from .report import EvalReport, rate, summarize, temperature_key
from .stats import paired

Runs = dict[str, dict[str, list[JudgedSample]]]  # label -> task id -> samples

# Paired comparisons in the ranking table: (A, B); "greedy" is the greedy sample.
COMPARISONS = (("examples", "greedy"), ("examples", "random"), ("examples", "mean_logprob"),
               ("examples", "compiles_mean"), ("compiles_mean", "mean_logprob"),
               ("compiles", "random"), ("examples_only", "random"), ("oracle", "examples"))


def read_samples(path: Path) -> list[JudgedSample]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [JudgedSample.from_json(json.loads(line)) for line in f if line.strip()]


def load_folder(folder: Path) -> tuple[dict[str, Any], Runs]:
    """A run folder's settings and its samples, by label ("0.2", "greedy", ...)."""
    settings = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    runs: Runs = {}
    for path in sorted(folder.glob("samples_*.jsonl*")):
        label = path.name.split(".jsonl")[0].removeprefix("samples_").removeprefix("t")
        for s in read_samples(path):
            runs.setdefault(label, {}).setdefault(s.task_id, []).append(s)
    return settings, runs


def _report(runs: Runs, problems: Sequence[Mapping[str, Any]], n: int,
            canonical: Mapping[str, str], ks: Sequence[int] = (1, 10)) -> EvalReport:
    temps = {float(label): per for label, per in runs.items() if label != GREEDY}
    return summarize(dict(sorted(temps.items())), runs.get(GREEDY), problems, model="",
                     n=n, ks=ks, canonical_failures=canonical)


def _values(report: EvalReport, t: float, name: str, examples_only: bool) -> list[float]:
    if name == GREEDY:
        return report.greedy_values(examples_only) or []
    return report.top1_values(t, name, examples_only)


def _paired(a: Sequence[float], b: Sequence[float]) -> dict[str, Any] | None:
    return paired(a, b).to_json() if len(a) and len(a) == len(b) else None


def _batch_totals(per_task: Mapping[str, Sequence[JudgedSample]]) -> dict[str, Any]:
    firsts = [ss[0] for ss in per_task.values()]
    tokens = sum(s.batch_tokens for s in firsts)
    seconds = sum(s.batch_seconds for s in firsts)
    return {"problems": len(firsts), "tokens": int(tokens), "seconds": round(seconds, 1),
            "tokens_per_s": round(tokens / seconds, 2) if seconds > 0 else None}


def _finish(per_task: Mapping[str, Sequence[JudgedSample]]) -> dict[str, int]:
    return dict(sorted(Counter(s.finish_reason for ss in per_task.values() for s in ss).items()))


def _main(runs: Runs, problems: Sequence[Mapping[str, Any]], n: int,
          canonical: Mapping[str, str]) -> dict[str, Any]:
    report = _report(runs, problems, n, canonical, ks=tuple(range(1, n + 1)))
    out = report.to_json()
    del out["settings"], out["machine"], out["seconds"], out["timings"], out["model"]
    temps = report.temperatures
    out["paired"] = {
        temperature_key(t): {f"{a}_vs_{b}": {scope: _paired(_values(report, t, a, only),
                                                  _values(report, t, b, only))
                                   for scope, only in (("all", False), ("examples", True))}
                   for a, b in COMPARISONS}
        for t in temps}
    if len(temps) == 2:
        lo, hi = temps
        out["paired_temperatures"] = {
            f"pass@{k}": _paired(report.pass_at_k_values(lo, k) or [],
                                 report.pass_at_k_values(hi, k) or [])
            for k in (1, n)}
    out["finish_reasons"] = {label: _finish(per) for label, per in runs.items()}
    out["cost"] = {label: _batch_totals(per) for label, per in runs.items()}
    out["distinct_programs"] = {
        label: round(float(np.mean([len({s.completion for s in ss}) for ss in per.values()])), 2)
        for label, per in runs.items() if label != GREEDY}
    out["solved_by_any_sample"] = sorted(
        {tid for per in runs.values() for tid, ss in per.items() if any(s.passed_hidden
                                                                         for s in ss)},
        key=_order)
    out["examples_filter"] = {
        label: {"passed_all_examples": len(ok := [s for ss in per.values() for s in ss
                                                  if s.n_examples and
                                                  s.passed_examples == s.n_examples]),
                "of_those_passed_hidden": sum(s.passed_hidden for s in ok)}
        for label, per in runs.items()}
    return out


def _stop(main: Runs, no_stop: Runs, by_id: Mapping[str, Mapping[str, Any]], n: int,
          canonical: Mapping[str, str]) -> dict[str, Any]:
    """The repetition stop on (main) against off (no_stop): per temperature, on every
    problem that both runs have at that temperature (same seeds)."""
    out: dict[str, Any] = {}
    for label in no_stop:
        ids = sorted(set(no_stop[label]) & set(main.get(label, {})), key=_order)
        if not ids:
            continue
        problems = [by_id[t] for t in ids]
        with_ = {tid: main[label][tid] for tid in ids}
        without = {tid: no_stop[label][tid] for tid in ids}
        size = 1 if label == GREEDY else n
        r_with = _report({label: with_}, problems, size, canonical, ks=(1, size))
        r_without = _report({label: without}, problems, size, canonical, ks=(1, size))
        row: dict[str, Any] = {"problems": len(ids), "task_ids": ids,
                               "with": _batch_totals(with_), "without": _batch_totals(without)}
        row["with"]["finish_reasons"], row["without"]["finish_reasons"] = \
            _finish(with_), _finish(without)
        if label == GREEDY:
            row["pass@1"] = _paired(r_with.greedy_values() or [],
                                    r_without.greedy_values() or [])
        else:
            t = float(label)
            for k in (1, n):
                row[f"pass@{k}"] = _paired(r_with.pass_at_k_values(t, k) or [],
                                           r_without.pass_at_k_values(t, k) or [])
            row["pick"] = _paired(r_with.top1_values(t, "examples"),
                                  r_without.top1_values(t, "examples"))
        out[label] = row
    return out


def _sweep(runs: Runs, problems: Sequence[Mapping[str, Any]], n: int,
           canonical: Mapping[str, str]) -> dict[str, Any]:
    """pass@1, pass@n and the pick per temperature, and the temperature the data favours:
    the highest pick top-1 (what %%codex shows), then pass@n, then the lower T."""
    report = _report({k: v for k, v in runs.items() if k != GREEDY}, problems, n, canonical,
                     ks=(1, n))
    table = {}
    for t in report.temperatures:
        table[temperature_key(t)] = {"pass@1": rate(report.pass_at_k_values(t, 1)),
                           f"pass@{n}": rate(report.pass_at_k_values(t, n)),
                           "pick": rate(report.top1_values(t, "examples")),
                           "cost": _batch_totals(runs[temperature_key(t)])}
    best = max(report.temperatures, key=lambda t: (report.top1(t, "examples"),
                                                   report.pass_at_k(t, n) or 0.0, -t))
    vs = {temperature_key(t): _paired(report.top1_values(best, "examples"),
                            report.top1_values(t, "examples"))
          for t in report.temperatures if t != best}
    return {"problems": len(problems), "task_ids": [p["task_id"] for p in problems],
            "by_temperature": table, "best": best,
            "rule": "highest top-1 of %%codex's pick; ties: higher pass@n, then lower T",
            "best_vs_others": vs}


def _curve(main: Runs, pool: Runs, label: str, ids: Sequence[str]) -> dict[str, Any]:
    pools = {tid: main[label][tid] + pool[label][tid] for tid in ids}
    size = min(len(ss) for ss in pools.values())
    pools = {tid: ss[:size] for tid, ss in pools.items()}
    sizes = list(range(1, size + 1))
    by: dict[str, list[dict[str, Any]]] = {}
    for h in CURVE_HEURISTICS:
        per_problem = np.array([top1_curve(ss, h, sizes) for ss in pools.values()])
        by[h] = [{"n": m, **(rate(list(per_problem[:, m - 1])) or {})} for m in sizes]
    # What the highest mean log-prob picks among all N: how its choices ended, against
    # how all the pool's samples ended.
    likeliest = [max(ss, key=lambda s: (s.mean_logprob is not None, s.mean_logprob or 0.0))
                 for ss in pools.values()]
    return {"temperature": float(label), "N": size, "problems": list(ids),
            "seeds": "main's n samples (seed 0) and the pool run's (its own base seed)",
            "by_heuristic": by,
            "mean_logprob_pick_finish": dict(sorted(Counter(s.finish_reason
                                                            for s in likeliest).items())),
            "pool_finish": _finish(pools)}


def _order(task_id: str) -> tuple[str, int]:
    prefix, _, num = task_id.rpartition("/")
    return prefix, int(num) if num.isdigit() else -1


def build(folder: str | Path, problems: Sequence[Mapping[str, Any]] | None = None,
          canonical: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything ``results.json`` holds, from the run folders under ``folder``."""
    from .judge import load_humaneval

    folder = Path(folder)
    problems = list(problems if problems is not None else load_humaneval())
    canonical = dict(canonical if canonical is not None else canonical_failures(problems))
    by_id = {p["task_id"]: p for p in problems}
    settings, main = load_folder(folder / "main")
    n = int(settings["n"])
    # The main table: the problems done at every temperature and greedy. The other
    # sections use whatever main samples they need.
    main_problems = [p for p in problems if all(p["task_id"] in per for per in main.values())]
    core = {label: {p["task_id"]: per[p["task_id"]] for p in main_problems}
            for label, per in main.items()}
    out: dict[str, Any] = {
        "generated_by": "python -m codex_magic.evaluation.docgen",
        "ci": "95% Wilson score interval over problems; paired: bootstrap interval of the "
              "difference, p from exact McNemar (yes/no per problem) or a sign-flip test",
        "settings": settings,
        "usable_examples": sum(bool(examples_from_prompt(p["prompt"])[1])
                               and p["task_id"] not in canonical for p in problems),
        "parsed_examples": sum(bool(examples_from_prompt(p["prompt"])[1]) for p in problems),
        "canonical_fails_examples": {tid: canonical[tid] for tid in sorted(canonical,
                                                                           key=_order)},
        "unverifiable": sorted({s.task_id for per in core.values() for ss in per.values()
                                for s in ss if s.hidden_status == UNVERIFIABLE}, key=_order),
        "main": _main(core, main_problems, n, canonical),
        "heuristics": list(heuristics()),
    }
    if list((folder / "no_stop").glob("samples_*")):
        stop_settings, no_stop = load_folder(folder / "no_stop")
        stop = _stop(main, no_stop, by_id, n, canonical)
        if stop:
            out["repetition_stop"] = stop
            out["repetition_stop"]["settings"] = stop_settings
    if list((folder / "sweep").glob("samples_*")):
        _, sweep = load_folder(folder / "sweep")
        ids = sorted(set.intersection(*(set(per) for per in sweep.values()),
                                      *(set(per) for lb, per in main.items() if lb != GREEDY)),
                     key=_order)
        both = {label: {t: ss for t, ss in per.items() if t in ids}
                for label, per in {**main, **sweep}.items() if label != GREEDY}
        if ids:
            out["sweep"] = _sweep(both, [by_id[t] for t in ids], n, canonical)
    if list((folder / "pool").glob("samples_*")):
        pool_settings, pool = load_folder(folder / "pool")
        label = next(iter(pool))
        ids = sorted(set(pool[label]) & set(main.get(label, {})), key=_order)
        if ids:
            out["curve"] = _curve(main, pool, label, ids)
            out["curve"]["pool_settings"] = pool_settings
    return out
