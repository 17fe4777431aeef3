"""The widget ``%%docstring`` shows: docstring candidates, ranked, with Insert and Replace.

The same look as the ``%%codex`` widget (its CSS); its front end is
``static/docstring.js``. A docstring is model output, so the front end shows it
as text only; the code around it is highlighted here (pygments escapes it).
Where widgets cannot render, the same list appears as static HTML and text.
"""

from __future__ import annotations

import html
from typing import Any

import traitlets

from ..docstrings import DocCandidate, DocResult
from ..render import highlight
from .widget import RunWidget, esm


def candidate_state(c: DocCandidate) -> dict[str, Any]:
    """What the front end draws for a docstring candidate."""
    return c.to_json() | {"html": highlight(c.code)}


class DocstringWidget(RunWidget):
    _esm = esm("docstring.js")
    label = "docstring"

    refused: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: DocResult | None = None

    def show_result(self, result: DocResult) -> None:
        self.result = result
        data = result.to_json()
        with self.hold_sync():
            self.candidates = [candidate_state(c) for c in result.candidates]
            self.refused = data["refused"]
            self.summary = data["summary"]
            self.phase = "done"

    def result_text(self) -> str | None:
        return None if self.result is None else self.result.to_text()

    def result_html(self) -> str | None:
        if self.result is None:
            return None
        rows = [f"<div class='codex-static-cand'><b>#{c.rank}</b> back-translation "
                f"{c.score:.3f} · ×{c.count}<pre>{html.escape(c.code)}</pre></div>"
                for c in self.result.candidates]
        return (f"<div class='codex-static'><div>{html.escape(self.result.summary())}</div>"
                + "".join(rows) + "</div>")
