"""The ranked-candidates widget shown by ``%%codex``.

State lives in synced traits; the front end is ``static/widget.js`` (an
anywidget ES module). Where widgets cannot render (nbconvert, a terminal,
a notebook saved without widget state) the same ranked list appears as static
HTML and text.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .types import Candidate, Progress, Result

_STATIC = Path(__file__).with_name("static")


def highlight(code: str) -> str:
    """Python code as HTML spans whose classes the widget's CSS colours by theme."""
    from pygments import highlight as _hl
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return _hl(code, PythonLexer(), HtmlFormatter(nowrap=True))


def candidate_state(c: Candidate) -> dict[str, Any]:
    v = c.verdict
    return {
        "rank": c.rank,
        "code": c.code,
        "html": highlight(c.code),
        "passed": v.passed,
        "total": v.total,
        "status": v.status,
        "detail": v.detail,
        "mean_logprob": None if c.mean_logprob != c.mean_logprob or c.mean_logprob == float("-inf")
        else round(c.mean_logprob, 4),
        "count": c.count,
        "failures": [
            {"source": f.source, "expected": f.expected, "got": f.got, "reason": f.reason}
            for f in v.failures[:10]
        ],
    }


def summary_line(r: Result) -> str:
    if r.n_doctests:
        which = "the doctest" if r.n_doctests == 1 else f"all {r.n_doctests} doctests"
        tests = f"{r.n_correct}/{r.n_samples} samples pass {which}"
    else:
        tests = f"{r.n_samples} samples, no doctests: ranked by mean log-prob"
    distinct = len(r.candidates)
    took = sum(v for k, v in r.timings.items() if k in ("load", "prefill", "decode", "tests"))
    return (f"{tests} · {distinct} distinct · {r.model} · T={r.temperature:g} · seed {r.seed}"
            f" · {took:.1f} s")


class CodexWidget(anywidget.AnyWidget):
    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    phase = traitlets.Unicode("loading").tag(sync=True)
    done = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    tokens = traitlets.Int(0).tag(sync=True)
    candidates: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: Result | None = None

    # -- updates from the pipeline ------------------------------------------------------

    def on_progress(self, p: Progress) -> None:
        with self.hold_sync():
            self.phase, self.done, self.total, self.tokens = p.phase, p.done, p.total, p.tokens

    def show_result(self, result: Result) -> None:
        self.result = result
        with self.hold_sync():
            self.candidates = [candidate_state(c) for c in result.candidates]
            self.summary = summary_line(result)
            self.phase = "done"

    def show_error(self, message: str) -> None:
        with self.hold_sync():
            self.error = message
            self.phase = "error"

    @property
    def best(self) -> Candidate:
        if self.result is None:
            raise AttributeError("no result yet")
        return self.result.best

    # -- static fallbacks ---------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = self.as_text()
            data["text/html"] = self.as_html()
        return bundle

    def as_text(self) -> str:
        if self.phase == "error":
            return f"codex: {self.error}"
        if self.result is None:
            return f"codex: {self.phase}…"
        return render_text(self.result)

    def as_html(self) -> str:
        if self.phase == "error":
            return f"<div class='codex-static'><b>codex:</b> {html.escape(self.error)}</div>"
        if self.result is None:
            return f"<div class='codex-static'>codex: {html.escape(self.phase)}…</div>"
        return render_html(self.result)


def badge_text(c: Candidate) -> str:
    v = c.verdict
    if v.status in ("syntax error", "empty"):
        return v.status
    if v.total == 0:
        return "no tests"
    return f"{v.passed}/{v.total}"


def render_text(r: Result) -> str:
    out = [summary_line(r)]
    for c in r.candidates:
        lp = "-inf" if c.mean_logprob == float("-inf") else f"{c.mean_logprob:.3f}"
        out.append(f"\n#{c.rank}  tests {badge_text(c)}  mean log-prob {lp}  ×{c.count}")
        out.append(c.code.rstrip())
        for f in c.verdict.failures[:3]:
            out.append(f"  ✗ {f.source.strip()} → {f.reason}")
    return "\n".join(out)


def render_html(r: Result) -> str:
    rows = []
    for c in r.candidates:
        ok = c.verdict.all_passed
        colour = "#1a7f37" if ok else ("#888" if c.verdict.total == 0 else "#cf222e")
        lp = "-inf" if c.mean_logprob == float("-inf") else f"{c.mean_logprob:.3f}"
        rows.append(
            f"<div class='codex-static-cand'><b>#{c.rank}</b> "
            f"<span style='color:{colour};font-weight:bold'>{html.escape(badge_text(c))}</span>"
            f" · mean log-prob {lp} · ×{c.count}"
            f"<pre>{html.escape(c.code)}</pre></div>"
        )
    return (f"<div class='codex-static'><div>{html.escape(summary_line(r))}</div>"
            + "".join(rows) + "</div>")
