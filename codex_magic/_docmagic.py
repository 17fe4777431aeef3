"""``%%docstring``'s run: a thin shell around ``reverse.write_docstrings``.

Like ``%%codex``, every problem a user can cause ends in one line,
``UsageError: docstring: ...``; the kernel and its variables stay as they were.
"""

from __future__ import annotations

import time
from typing import Any

from IPython.core.error import UsageError
from IPython.display import display

from . import _interrupt
from .options import Options
from .types import CodexError


def run(shell: Any, cell: str, options: Options, output: str | None,
        show_traceback: bool) -> None:
    from .docstring import parse_function
    from .docwidget import DocstringWidget
    from .render import format_timings
    from .reverse import write_docstrings

    widget = None
    try:
        parse_function(cell)  # a bad cell fails before any widget
        widget = DocstringWidget()
        handle = display(widget, display_id=True)
        with _interrupt.interruptible():
            result = write_docstrings(cell, options, progress=widget.on_progress)
            _interrupt.phase("render")
            t = time.perf_counter()
            widget.show_result(result)
        result.timings["render"] = time.perf_counter() - t
        if handle is not None:
            handle.update(widget)  # refresh the static HTML/text saved in the notebook
        shell.user_ns["_docstring"] = result
        if output:
            shell.user_ns[output] = result
        if options.timings:
            print(format_timings(result.timings))
    except CodexError as e:
        if widget is not None:
            widget.show_error(str(e))
        if show_traceback:
            raise
        raise UsageError(f"docstring: {e}") from None
    except KeyboardInterrupt:
        if widget is not None:
            widget.show_error("interrupted")
        raise UsageError("docstring: interrupted; nothing was changed") from None
    except Exception as e:
        if widget is not None:
            widget.show_error(f"{type(e).__name__}: {e}")
        if show_traceback:
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(
            f"docstring: internal error {type(e).__name__}: {msg} "
            "(%config CodexMagics.show_traceback = True shows the traceback)"
        ) from None
