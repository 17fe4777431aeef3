"""The widget ``%%docstring`` shows: docstring candidates, ranked, with Insert and Replace.

The same look as the ``%%codex`` widget (its CSS); its front end is
``static/docstring.js``. A docstring is model output, so the front end shows it
as text only; the code around it is highlighted here (pygments escapes it).
Where widgets cannot render, the same list appears as static HTML and text.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .render import highlight
from .reverse import DocCandidate, DocResult
from .types import Progress

_STATIC = Path(__file__).with_name("static")


def candidate_state(c: DocCandidate) -> dict[str, Any]:
    """What the front end draws for a docstring candidate."""
    return c.to_json() | {"html": highlight(c.code)}


class DocstringWidget(anywidget.AnyWidget):
    _esm = _STATIC / "docstring.js"
    _css = _STATIC / "widget.css"

    phase = traitlets.Unicode("loading").tag(sync=True)
    done = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    tokens = traitlets.Int(0).tag(sync=True)
    candidates: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    refused: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: DocResult | None = None

    def on_progress(self, p: Progress) -> None:
        with self.hold_sync():
            self.phase, self.done, self.total, self.tokens = p.phase, p.done, p.total, p.tokens

    def show_result(self, result: DocResult) -> None:
        self.result = result
        data = result.to_json()
        with self.hold_sync():
            self.candidates = [candidate_state(c) for c in result.candidates]
            self.refused = data["refused"]
            self.summary = data["summary"]
            self.phase = "done"

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
            return f"docstring: {self.error}"
        if self.result is None:
            return f"docstring: {self.phase}…"
        return self.result.to_text()

    def as_html(self) -> str:
        if self.phase == "error":
            return f"<div class='codex-static'><b>docstring:</b> {html.escape(self.error)}</div>"
        if self.result is None:
            return f"<div class='codex-static'>docstring: {html.escape(self.phase)}…</div>"
        rows = [f"<div class='codex-static-cand'><b>#{c.rank}</b> back-translation "
                f"{c.score:.3f} · ×{c.count}<pre>{html.escape(c.code)}</pre></div>"
                for c in self.result.candidates]
        return (f"<div class='codex-static'><div>{html.escape(self.result.summary())}</div>"
                + "".join(rows) + "</div>")
