"""Kernel side of the JupyterLab "Codex" sidebar.

The sidebar sends ``import codex_magic.frontends.sidebar as _cms; _cms.generate("<json>")``
to the notebook's kernel, so sampling reuses the model that kernel already
loaded. Everything goes back as display messages with codex-magic mime types,
which the sidebar reads from the execute request's IOPub stream:

- ``application/vnd.codex-magic.progress+json``: ``{phase, done, total, tokens}``,
  one display updated in place;
- ``application/vnd.codex-magic.result+json``: ``Result.to_json()``;
- ``application/vnd.codex-magic.error+json``: ``{"message": str}`` for a
  ``CodexError`` (any other exception, and the KeyboardInterrupt of Cancel,
  reach the sidebar as the kernel's own error message).

``_cms.schema()`` publishes ``application/vnd.codex-magic.schema+json``: the
options the sidebar's form shows (``option_forms.schema()``), read from the kernel's
own codex_magic so that the form and the kernel are always of one version.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ..types import CodexError

PROGRESS_MIME = "application/vnd.codex-magic.progress+json"
RESULT_MIME = "application/vnd.codex-magic.result+json"
ERROR_MIME = "application/vnd.codex-magic.error+json"
SCHEMA_MIME = "application/vnd.codex-magic.schema+json"
# Progress updates closer together than this are dropped (phase changes never are).
MIN_UPDATE_SECONDS = 0.1


def parse_request(request_json: str) -> tuple[str, Any]:
    """The prompt and ``Options`` of a sidebar request; ``CodexError`` if malformed."""
    from ..options import Options
    from .option_forms import schema

    try:
        request = json.loads(request_json)
    except (TypeError, ValueError) as e:
        raise CodexError(f"the sidebar sent a request that is not JSON: {e}") from None
    if not isinstance(request, dict) or not isinstance(request.get("prompt"), str):
        raise CodexError('the sidebar request needs a "prompt" string')
    prompt = request["prompt"]
    if not prompt.strip():
        raise CodexError("write a function signature and a docstring first")
    options = request.get("options") or {}
    if not isinstance(options, dict):
        raise CodexError('the sidebar request\'s "options" must be an object')
    unknown = sorted(set(options) - {o["name"] for o in schema()})
    if unknown:
        raise CodexError(f"unknown option(s) from the sidebar: {', '.join(unknown)}")
    values = {k: v for k, v in options.items() if v is not None}
    if isinstance(values.get("model"), str) and not values["model"].strip():
        del values["model"]
    try:
        return prompt, Options(**values)
    except TypeError as e:
        raise CodexError(f"bad sidebar options: {e}") from None


class _Publisher:
    """One progress display, updated in place and throttled."""

    def __init__(self) -> None:
        self.display_id = f"codex-magic-{uuid.uuid4().hex}"
        self._shown = False
        self._last_phase: str | None = None
        self._last_time = 0.0

    def progress(self, progress: Any) -> None:
        phase = str(getattr(progress, "phase", ""))
        done = int(getattr(progress, "done", 0))
        total = int(getattr(progress, "total", 0))
        tokens = int(getattr(progress, "tokens", 0))
        now = time.monotonic()
        final = total > 0 and done >= total
        if phase == self._last_phase and not final and now - self._last_time < MIN_UPDATE_SECONDS:
            return
        self._last_phase, self._last_time = phase, now
        data = {"phase": phase, "done": done, "total": total, "tokens": tokens}
        bundle = {
            PROGRESS_MIME: data,
            "text/plain": f"codex: {phase} {done}/{total}",
        }
        _publish(bundle, self.display_id, update=self._shown)
        self._shown = True


def _publish(bundle: dict[str, Any], display_id: str, *, update: bool = False) -> None:
    from IPython.display import display, update_display

    if update:
        update_display(bundle, raw=True, display_id=display_id)
    else:
        display(bundle, raw=True, display_id=display_id)


def schema() -> None:
    """Publish the options the sidebar's form shows, with their defaults and bounds."""
    from .. import __version__
    from .option_forms import schema as option_schema

    _publish({SCHEMA_MIME: {"version": __version__, "options": option_schema()},
              "text/plain": "codex: options"}, f"codex-magic-{uuid.uuid4().hex}")


def generate(request_json: str) -> None:
    """Run one sidebar request in this kernel and publish its progress and result."""
    from ..pipeline import solve

    publisher = _Publisher()
    try:
        prompt, options = parse_request(request_json)
        context = ""
        if options.context:
            from IPython import get_ipython

            from ..prompt import parse_cell
            from .magic import kernel_context

            shell = get_ipython()
            if shell is not None:
                context = kernel_context(shell, parse_cell(prompt).function_name)
        result = solve(prompt, options, context=context, progress=publisher.progress)
    except CodexError as e:
        _publish({ERROR_MIME: {"message": str(e)}, "text/plain": f"codex: {e}"},
                 f"codex-magic-{uuid.uuid4().hex}")
        return
    data = result.to_json()
    summary = f"codex: {len(data['candidates'])} candidates from {data['n_samples']} samples"
    _publish({RESULT_MIME: data, "text/plain": summary}, f"codex-magic-{uuid.uuid4().hex}")
