"""How results look: the one JSON shape, text, HTML, summaries, timings, tables.

Everything a user reads about a result is written here once: the widget, the
sidebar (which receives ``result_json``), the CLI and the static fallback of a
saved notebook all show the same badge, summary and numbers. Candidates are
model output, so text meant for a terminal is passed through ``printable``.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .types import Candidate, Result

# C0 controls (but newline and tab), DEL and C1 controls: a terminal obeys them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text safe for a terminal: control characters shown as escapes, not obeyed."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def badge(c: Candidate) -> dict[str, str]:
    """The doctest badge of a candidate: its text, kind (pass, fail, none) and tooltip."""
    v = c.verdict
    if v.status in ("syntax error", "empty"):
        return {"text": v.status, "kind": "fail", "title": v.detail or v.status}
    if v.total == 0:
        return {"text": "no tests", "kind": "none", "title": "No doctests were run"}
    text = f"{v.passed}/{v.total} passed"
    if v.all_passed:
        return {"text": text, "kind": "pass", "title": "Every doctest passed"}
    why = f" ({v.status})" if v.status != "ok" else ""
    return {"text": text + why, "kind": "fail",
            "title": f"{v.total - v.passed} of {v.total} doctests failed{why}"}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def candidate_json(c: Candidate) -> dict[str, Any]:
    """A candidate as the widget, the sidebar and ``solve --json`` all receive it."""
    v = c.verdict
    return {
        "rank": c.rank, "code": c.code, "body": c.body,
        "passed": v.passed, "total": v.total, "status": v.status, "detail": v.detail,
        "seconds": round(v.seconds, 3),
        "failures": [dataclasses.asdict(f) for f in v.failures],
        "mean_logprob": _finite(c.mean_logprob), "sum_logprob": _finite(c.sum_logprob),
        "count": c.count, "seeds": list(c.seeds), "finish_reason": c.finish_reason,
        "review": None if c.review is None else _finite(c.review),
        "explanation": c.explanation,
        "badge": badge(c),
    }


def result_json(r: Result) -> dict[str, Any]:
    """The ranked result as strict JSON (no NaN or infinities)."""
    return {
        "candidates": [candidate_json(c) for c in r.candidates],
        "n_samples": r.n_samples, "n_correct": r.n_correct, "n_doctests": r.n_doctests,
        "model": r.model, "temperature": r.temperature, "seed": r.seed, "rank_by": r.rank_by,
        "timings": {k: v for k, v in r.timings.items() if math.isfinite(v)},
        "summary": summary_line(r), "notes": list(r.notes),
    }


def summary_line(r: Result) -> str:
    if r.n_doctests:
        which = "the doctest" if r.n_doctests == 1 else f"all {r.n_doctests} doctests"
        tests = f"{r.n_correct}/{r.n_samples} samples pass {which}"
    else:
        tests = f"{r.n_samples} samples, no doctests: ranked by mean log-prob"
    took = sum(v for k, v in r.timings.items() if k in ("load", "prefill", "decode", "tests"))
    notes = "".join(f" · note: {note}" for note in r.notes)
    return (f"{tests} · {len(r.candidates)} distinct · {r.model} · T={r.temperature:g} · "
            f"seed {r.seed} · {took:.1f} s{notes}")


def _logprob(c: Candidate) -> str:
    return "-inf" if not math.isfinite(c.mean_logprob) else f"{c.mean_logprob:.3f}"


def render_text(r: Result) -> str:
    """The ranked list for a terminal or a plain-text output."""
    out = [summary_line(r)]
    for c in r.candidates:
        out.append(f"\n#{c.rank}  tests {badge(c)['text']}  mean log-prob {_logprob(c)}  "
                   f"×{c.count}{ENDINGS.get(c.finish_reason, '')}")
        out.append(c.code.rstrip())
        for f in c.verdict.failures[:3]:
            out.append(f"  ✗ {f.source.strip()} → {f.reason}")
    return printable("\n".join(out))


# How a candidate's sample ended, when the user should know.
ENDINGS = {"repetition": "  (it repeated itself: stopped early)",
           "length": "  (cut at --max-tokens)"}

_BADGE_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "none": "#888"}


def render_html(r: Result) -> str:
    """The ranked list as static HTML (a saved notebook, nbconvert)."""
    rows = []
    for c in r.candidates:
        b = badge(c)
        rows.append(
            f"<div class='codex-static-cand'><b>#{c.rank}</b> "
            f"<span style='color:{_BADGE_COLOUR[b['kind']]};font-weight:bold'>"
            f"{html.escape(b['text'])}</span>"
            f" · mean log-prob {_logprob(c)} · ×{c.count}"
            f"<pre>{html.escape(c.code)}</pre></div>"
        )
    return (f"<div class='codex-static'><div>{html.escape(summary_line(r))}</div>"
            + "".join(rows) + "</div>")


def format_timings(t: Mapping[str, float]) -> str:
    """Where a run's time went, in one line (``--timings``)."""
    parts = [f"{k} {t[k]:.2f} s" for k in ("load", "prefill", "decode") if k in t]
    if t.get("steps"):
        parts.append(f"host sampling {t.get('host_sampling', 0.0):.2f} s "
                     f"({1e3 * t.get('host_sampling', 0.0) / t['steps']:.1f} ms a step, "
                     f"{t['steps']:.0f} steps)")
    if "tests" in t:
        early = (f" ({t['tests_done_while_decoding']:.0f} of {t['tests_total']:.0f} done while "
                 "decoding)" if t.get("tests_total") else "")
        parts.append(f"tests {t['tests']:.2f} s after decoding{early}")
    if "scoring" in t:
        parts.append(f"scoring {t['scoring']:.2f} s")
    if "explain" in t:
        parts.append(f"explain {t['explain']:.2f} s")
    if "render" in t:
        parts.append(f"render {t['render']:.2f} s")
    if t.get("generated_tokens") and t.get("decode"):
        parts.append(f"{t['generated_tokens'] / t['decode']:.0f} tok/s")
    return "codex timings: " + ", ".join(parts)


def models_table(models: Iterable[Mapping[str, Any]]) -> str:
    """Every model known by name, one line each: state, size, code model or not, licence,
    where it comes from; then how to get a missing one."""
    rows = [("name", "state", "size", "code", "licence", "from")]
    missing = []
    for m in models:
        state = m["status"] + (" ✓" if m["verified"] else "")
        if m["source"] == "PyPI package" and m["status"] == "missing":
            state = "packaged"  # assembled from PyPI on first use
        code = {True: "yes", False: "no", None: "?"}[m["code_model"]]
        name = m["name"] + (" (default)" if m.get("default") else "")
        rows.append((name, state, _bytes(m["size"]), code, m["licence"], m["source"]))
        if m["status"] != "present" and state != "packaged":
            missing.append(m["name"])
    widths = [max(len(printable(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(printable(c).ljust(w) for c, w in zip(r, widths, strict=False)) + "  "
             + printable(r[-1]) for r in rows]
    if missing:
        lines.append(f"\n✓ = sha256 verified. Get a model: codex-magic models pull NAME "
                     f"(e.g. {missing[0]}); check files: codex-magic models verify")
    return "\n".join(lines)


def _bytes(n: int | None) -> str:
    if not n:
        return "?"
    return (f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB" if n >= 1e6
            else f"{n / 1e3:.0f} KB")


def highlight(code: str) -> str:
    """Python code as HTML spans whose classes the widget's CSS colours by theme."""
    from pygments import highlight as _hl
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return _hl(code, PythonLexer(), HtmlFormatter(nowrap=True))
