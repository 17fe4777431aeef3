"""The ranked-candidates widget shown by ``%%codex``.

State lives in synced traits; the front end is ``static/widget.js`` (an
anywidget ES module). Where widgets cannot render (nbconvert, a terminal,
a notebook saved without widget state) the same ranked list appears as static
HTML and text.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..render import candidate_json, highlight, render_html, render_text, summary_line
from ..types import Candidate, Progress, Result

_STATIC = Path(__file__).parent.parent / "static"


def candidate_state(c: Candidate) -> dict[str, Any]:
    """What the front end draws for a candidate: its JSON and the highlighted code."""
    return candidate_json(c) | {"html": highlight(c.code)}


def esm(name: str) -> str:
    """A widget's front end: the shared helpers (static/common.js), then its own file."""
    return (_STATIC / "common.js").read_text(encoding="utf-8") + "\n" + \
        (_STATIC / name).read_text(encoding="utf-8")


class RunWidget(anywidget.AnyWidget):
    """What the %%codex and %%docstring widgets share: a run's progress, its candidates,
    its error, and the static HTML and text a notebook keeps when widgets cannot render."""

    _css = _STATIC / "widget.css"
    label = "codex"  # what the fallback text starts with

    phase = traitlets.Unicode("loading").tag(sync=True)
    done = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    tokens = traitlets.Int(0).tag(sync=True)
    candidates: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def on_progress(self, p: Progress) -> None:
        with self.hold_sync():
            self.phase, self.done, self.total, self.tokens = p.phase, p.done, p.total, p.tokens

    def show_error(self, message: str) -> None:
        with self.hold_sync():
            self.error = message
            self.phase = "error"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = self.as_text()
            data["text/html"] = self.as_html()
        return bundle

    def as_text(self) -> str:
        if self.phase == "error":
            return f"{self.label}: {self.error}"
        text = self.result_text()
        return text if text is not None else f"{self.label}: {self.phase}…"

    def as_html(self) -> str:
        if self.phase == "error":
            return (f"<div class='codex-static'><b>{self.label}:</b> "
                    f"{html.escape(self.error)}</div>")
        page = self.result_html()
        return page if page is not None else \
            f"<div class='codex-static'>{self.label}: {html.escape(self.phase)}…</div>"

    def result_text(self) -> str | None:  # the finished result as text, None before
        raise NotImplementedError

    def result_html(self) -> str | None:
        raise NotImplementedError


class CodexWidget(RunWidget):
    _esm = esm("widget.js")
    # "What does each do?": offered when the kernel can answer; "running" while it does.
    can_explain = traitlets.Bool(False).tag(sync=True)
    explaining = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: Result | None = None
        self._explain: Callable[[Result], Result] | None = None

    def enable_explain(self, explain: Callable[[Result], Result]) -> None:
        """Offer the button; ``explain`` gives the result with each candidate explained."""
        if self._explain is None:
            self.on_msg(self._on_msg)
        self._explain = explain
        self.can_explain = True

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "explain":
            return
        if self._explain is None or self.result is None or self.explaining == "running":
            return
        self.explaining = "running"
        try:
            self.show_result(self._explain(self.result))
            self.explaining = ""
        except KeyboardInterrupt:
            self.explaining = "interrupted"
        except Exception as e:  # the widget says so; the kernel goes on
            self.explaining = "could not explain: " + (str(e).splitlines() or [type(e).__name__])[0]

    # -- updates from the pipeline ------------------------------------------------------

    def show_result(self, result: Result) -> None:
        self.result = result
        with self.hold_sync():
            self.candidates = [candidate_state(c) for c in result.candidates]
            self.summary = summary_line(result)
            self.phase = "done"

    @property
    def best(self) -> Candidate:
        if self.result is None:
            raise AttributeError("no result yet")
        return self.result.best

    def result_text(self) -> str | None:
        return None if self.result is None else render_text(self.result)

    def result_html(self) -> str | None:
        return None if self.result is None else render_html(self.result)
