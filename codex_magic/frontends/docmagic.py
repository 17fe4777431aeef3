"""``%%docstring``'s run: a thin shell around ``reverse.write_docstrings``.

Like ``%%codex``, every problem a user can cause ends in one line,
``UsageError: docstring: ...``; the kernel and its variables stay as they were.
"""

from __future__ import annotations

from typing import Any

from ..options import Options
from .magic_run import run_shown


def run(shell: Any, cell: str, options: Options, output: str | None,
        show_traceback: bool) -> None:
    from ..docstrings import parse_function, write_docstrings
    from .docwidget import DocstringWidget

    def start() -> tuple[Any, Any]:
        parse_function(cell)
        return DocstringWidget(), lambda progress: write_docstrings(cell, options,
                                                                    progress=progress)

    run_shown(shell, "docstring", start, "_docstring", output, options.timings, show_traceback)
