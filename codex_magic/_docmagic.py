"""``%%docstring``'s run: a thin shell around ``reverse.write_docstrings``.

Like ``%%codex``, every problem a user can cause ends in one line,
``UsageError: docstring: ...``; the kernel and its variables stay as they were.
"""

from __future__ import annotations

from typing import Any

from ._magic_run import run_shown
from .options import Options


def run(shell: Any, cell: str, options: Options, output: str | None,
        show_traceback: bool) -> None:
    from .docstring import parse_function
    from .docwidget import DocstringWidget
    from .reverse import write_docstrings

    def start() -> tuple[Any, Any]:
        parse_function(cell)
        return DocstringWidget(), lambda progress: write_docstrings(cell, options,
                                                                    progress=progress)

    run_shown(shell, "docstring", start, "_docstring", output, options.timings, show_traceback)
