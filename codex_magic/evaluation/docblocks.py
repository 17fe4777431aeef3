"""The generated blocks of docs/evaluation.md: each a function of ``results.json``.

Rates are written with their 95% intervals, "2.8% (1.2–6.1)"; paired differences
in points with their interval and p; conclusions worded by their test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .metrics import heuristic

MODEL = "Gemma 3 270M Q4_K_M"

R = Mapping[str, Any]


def pct(rate: R | None, ci: bool = True) -> str:
    """"2.8% (1.2–6.1)": a rate and its 95% interval, in percent."""
    if not rate or rate.get("value") is None:
        return "–"
    lo, hi = rate["ci"]
    text = f"{100 * rate['value']:.1f}%"
    return f"{text} ({100 * lo:.1f}–{100 * hi:.1f})" if ci else text


def count(rate: R) -> str:
    """"9 of 164" for a rate whose per-problem values are yes/no."""
    return f"{round(rate['value'] * rate['problems'])} of {rate['problems']}"


def diff(p: R | None) -> str:
    """"+1.8 points (95% CI −0.6 to +4.3), p = 0.25": a paired difference."""
    if not p:
        return "–"
    lo, hi = p["ci"]
    return (f"{100 * p['diff']:+.1f} ({100 * lo:+.1f} to {100 * hi:+.1f}), "
            f"p = {_p(p['p'])}")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def verdict(p: R) -> str:
    """How a paired difference may be worded: by its test, at the 5% level."""
    return "significant at the 5% level" if p["p"] < 0.05 else "not significant at the 5% level"


def _s(k: int, word: str) -> str:
    return f"{k} {word}{'s' * (k != 1)}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def block_main(r: R) -> str:
    m = r["main"]
    temps = list(m["pass_at_k"])
    head = [f"{m['n_problems']} HumanEval problems, n = {m['n']}; rate (95% CI)"] + \
        [f"T = {t}" for t in temps]
    rows = [[f"pass@{k}"] + [pct(m["pass_at_k"][t][str(k)]) for t in temps] for k in (1, m["n"])]
    for h in r["heuristics"]:
        label = heuristic(h).label
        label = f"**top-1: {label}**" if h == "examples" else f"top-1: {label}"
        rows.append([label] + [pct(m["top1"][t][h]) for t in temps])
    rows.append(["greedy pass@1 (T = 0, one sample)", pct(m["greedy_pass_at_1"])]
                + [""] * (len(temps) - 1))
    return _table(head, rows)


def block_examples(r: R) -> str:
    m = r["main"]
    temps = list(m["pass_at_k"])
    n_ex = m["n_with_examples"]
    head = [f"{n_ex} problems with usable examples; top-1, rate (95% CI)"] + \
        [f"T = {t}" for t in temps]
    rows = [[heuristic(h).label] + [pct(m["top1_problems_with_examples"][t][h]) for t in temps]
            for h in r["heuristics"]]
    rows.append(["greedy pass@1", pct(m["greedy_pass_at_1_problems_with_examples"])]
                + [""] * (len(temps) - 1))
    return _table(head, rows)


def _name(n: str) -> str:
    return "greedy" if n == "greedy" else heuristic(n).short.replace("\n", " ")


def block_paired(r: R) -> str:
    m = r["main"]
    temps = list(m["paired"])
    head = ["A − B, points (95% CI), p"] + [f"all, T = {t}" for t in temps] + \
        [f"usable examples, T = {t}" for t in temps]
    rows = []
    for key in m["paired"][temps[0]]:
        a, b = key.split("_vs_")
        rows.append([f"{_name(a)} − {_name(b)}"]
                    + [diff(m["paired"][t][key]["all"]) for t in temps]
                    + [diff(m["paired"][t][key]["examples"]) for t in temps])
    return _table(head, rows)


def block_temperatures(r: R) -> str:
    m = r["main"]
    temps = list(m["pass_at_k"])
    head = ["k"] + [f"pass@k, T = {t}" for t in temps]
    rows = [[str(k)] + [pct(m["pass_at_k"][t][str(k)]) for t in temps]
            for k in range(1, m["n"] + 1)]
    text = _table(head, rows)
    if "paired_temperatures" in m:
        lo, hi = temps
        text += "\n" + "\n".join(
            f"- {k}, T = {lo} − T = {hi}: {diff(p)} ({verdict(p)})."
            for k, p in m["paired_temperatures"].items()) + "\n"
    return text


def ranges(ids: list[str]) -> str:
    """"HumanEval/0–39, 41" for a list of task ids."""
    nums = sorted(int(t.rsplit("/", 1)[1]) for t in ids)
    parts: list[str] = []
    last = -2
    for k in nums:
        if k == last + 1:
            parts[-1] = f"{parts[-1].split('–')[0]}–{k}"
        else:
            parts.append(str(k))
        last = k
    return "HumanEval/" + ", ".join(parts)


def block_summary(r: R) -> str:
    m = r["main"]
    ids = [p["task_id"] for p in m["problems"]]
    lines = [f"- Problems: {ranges(ids)} ({len(ids)} of 164), n = {m['n']} samples per "
             f"problem at each of T = {', '.join(m['pass_at_k'])}, and one greedy sample."]
    greedy = m["greedy_pass_at_1"]
    for t in m["top1"]:
        pick = m["top1"][t]["examples"]
        p = m["paired"][t]["examples_vs_greedy"]["all"]
        ratio = f" ({pick['value'] / greedy['value']:.2f}× greedy)" if greedy["value"] else ""
        lines.append(
            f"- T = {t}: `%%codex`'s pick solves {count(pick)} problems, {pct(pick)}, "
            f"against greedy's {count(greedy)}, {pct(greedy)}{ratio}; difference in points "
            f"{diff(p)}: {_s(p['a_better'], 'problem')} only the pick solves, "
            f"{p['b_better']} only greedy; {verdict(p)}.")
    solved = m["solved_by_any_sample"]
    lines.append(f"- Problems solved by any sample (all temperatures and greedy): "
                 f"{len(solved)} of {m['n_problems']} ({', '.join(solved)}).")
    return "\n".join(lines) + "\n"


def block_canonical(r: R) -> str:
    fails = r["canonical_fails_examples"]
    lines = [f"Of the 164 HumanEval prompts, {r['parsed_examples']} have `>>>` examples that "
             f"`doctest` parses; on {len(fails)} of them the canonical solution fails its own "
             f"examples, leaving {r['usable_examples']} with usable examples:", ""]
    lines += [f"- {tid}: `{why}`" for tid, why in fails.items()]
    return "\n".join(lines) + "\n"


def block_behaviour(r: R) -> str:
    m = r["main"]
    labels = list(m["finish_reasons"])
    reasons = sorted({k for v in m["finish_reasons"].values() for k in v})
    head = ["samples"] + [f"T = {x}" if x != "greedy" else "greedy" for x in labels]
    rows = [[f"finish: {k}"] + [str(m["finish_reasons"][x].get(k, 0)) for x in labels]
            for k in reasons]
    rows.append(["passed every docstring example"]
                + [str(m["examples_filter"][x]["passed_all_examples"]) for x in labels])
    rows.append(["… of those, passed the hidden tests"]
                + [str(m["examples_filter"][x]["of_those_passed_hidden"]) for x in labels])
    rows.append(["distinct programs per problem (mean)"]
                + [f"{m['distinct_programs'][x]:.1f}" if x in m["distinct_programs"] else "1"
                   for x in labels])
    rows.append(["tokens decoded"] + [f"{m['cost'][x]['tokens']:,}" for x in labels])
    rows.append(["sampling time (s)"] + [f"{m['cost'][x]['seconds']:,.0f}" for x in labels])
    return _table(head, rows)


def block_stop(r: R) -> str:
    s = r["repetition_stop"]
    head = ["same problems, same seeds", "tokens decoded: with / without (saved)",
            "sampling s: with / without", "pass@1 with − without", "pick with − without"]
    rows = []
    for label, row in s.items():
        if not isinstance(row, dict) or "with" not in row:
            continue  # the settings
        w, wo = row["with"], row["without"]
        saved = 1 - w["tokens"] / wo["tokens"] if wo["tokens"] else 0.0
        name = "greedy" if label == "greedy" else f"T = {label}, n = {r['settings']['n']}"
        name += f", {ranges(row['task_ids'])}"
        rows.append([name, f"{w['tokens']:,} / {wo['tokens']:,} ({100 * saved:.0f}%)",
                     f"{w['seconds']:,.0f} / {wo['seconds']:,.0f}",
                     diff(row["pass@1"]), diff(row.get("pick"))])
    text = _table(head, rows) + "\n"
    for label, row in s.items():
        if isinstance(row, dict) and "with" in row:
            text += (f"- {label}: finish reasons with the stop {row['with']['finish_reasons']}, "
                     f"without {row['without']['finish_reasons']}.\n")
    return text


def block_sweep(r: R) -> str:
    s = r["sweep"]
    n = r["settings"]["n"]
    head = [f"{ranges(s['task_ids'])}, n = {n}", "pass@1", f"pass@{n}",
            "%%codex's pick (top-1)", "tokens decoded"]
    rows = [[f"T = {t}", pct(v["pass@1"]), pct(v[f"pass@{n}"]), pct(v["pick"]),
             f"{v['cost']['tokens']:,}"] for t, v in s["by_temperature"].items()]
    text = _table(head, rows)
    text += f"\nRule ({s['rule']}): **T = {s['best']:g}**.\n"
    for t, p in s["best_vs_others"].items():
        text += f"- pick at T = {s['best']:g} − at T = {t}: {diff(p)} ({verdict(p)}).\n"
    return text


def block_curve(r: R) -> str:
    c = r["curve"]
    ns = [k for k in (1, 2, 5, 10, 20, 30, 50, 100) if k <= c["N"]]
    head = ["top-1, rate (95% CI)"] + [f"n = {k}" for k in ns]
    rows = [[_name(h)] + [pct(pts[k - 1]) for k in ns] for h, pts in c["by_heuristic"].items()]
    return (f"{ranges(c['problems'])} ({len(c['problems'])} problems), a pool of "
            f"N = {c['N']} samples each at T = {c['temperature']:g}; for each n, the "
            "expectation over all n-subsets of the pool, computed exactly.\n\n"
            + _table(head, rows)
            + "\nHow the samples ended: the highest mean log-prob's pick among all N, "
            f"{_counts(c['mean_logprob_pick_finish'])} (of {len(c['problems'])}); all the "
            f"pool's samples, {_counts(c['pool_finish'])} (of {len(c['problems']) * c['N']}).\n")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def block_unverifiable(r: R) -> str:
    u = r["unverifiable"]
    if not u:
        return ("No hidden-test verdict of these runs was marked unverifiable by the "
                "sandbox.\n")
    return ("Problems with hidden-test passes the sandbox marked unverifiable (counted as "
            f"failures above): {', '.join(u)}.\n")


def block_paper(r: R) -> str:
    m = r["main"]
    n = m["n"]
    rows = [f"| *{MODEL} here, n = {n}, T = {t}* | *{pct(m['pass_at_k'][t]['1'])}* | "
            f"*{pct(m['pass_at_k'][t][str(n)])}* |" for t in m["pass_at_k"]]
    rows.append(f"| *the same, greedy* | *{pct(m['greedy_pass_at_1'])}* | |")
    return "\n".join(rows) + "\n"


BLOCKS: dict[str, Callable[[R], str]] = {
    "summary": block_summary, "main": block_main, "examples": block_examples,
    "paired": block_paired, "temperatures": block_temperatures, "canonical": block_canonical,
    "behaviour": block_behaviour, "stop": block_stop, "sweep": block_sweep,
    "curve": block_curve, "unverifiable": block_unverifiable, "paper": block_paper,
}


