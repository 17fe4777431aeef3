"""How a cell magic runs in front of the user: a widget, one-line errors, the result kept.

``%%codex`` and ``%%docstring`` both show a widget that follows the run, put the
result in a variable, and end every problem a user can cause in one line,
``UsageError: <magic>: ...``: the kernel and its variables stay as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.display import display

from ..runtime import interrupts
from ..types import CodexError, Progress

# Builds the widget and the work to do once the cell passed its checks.
Start = Callable[[], tuple[Any, Callable[[Callable[[Progress], None]], Any]]]


def run_shown(shell: Any, label: str, start: Start, variable: str, output: str | None,
              timings: bool, show_traceback: bool) -> None:
    from ..render import format_timings

    widget = None
    try:
        widget, work = start()  # a bad cell fails here, before any widget is shown
        handle = display(widget, display_id=True)
        with interrupts.interruptible():
            result = work(widget.on_progress)
            interrupts.phase("render")
            t = time.perf_counter()
            widget.show_result(result)
        result.timings["render"] = time.perf_counter() - t
        if handle is not None:
            handle.update(widget)  # refresh the static HTML/text saved in the notebook
        shell.user_ns[variable] = result
        if output:
            shell.user_ns[output] = result
        if timings:
            print(format_timings(result.timings))
    except CodexError as e:
        if widget is not None:
            widget.show_error(str(e))
        if show_traceback:
            raise
        raise UsageError(f"{label}: {e}") from None
    except KeyboardInterrupt:
        if widget is not None:
            widget.show_error("interrupted")
        raise UsageError(f"{label}: interrupted; nothing was changed, run the cell again "
                         "when you want") from None
    except Exception as e:
        if widget is not None:
            widget.show_error(f"{type(e).__name__}: {e}")
        if show_traceback:
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(
            f"{label}: internal error {type(e).__name__}: {msg} "
            "(%config CodexMagics.show_traceback = True shows the traceback)"
        ) from None
