"""``%%codex``: the IPython cell magic, a thin shell around ``pipeline.solve``.

Options come from ``OPTION_SPECS`` (so ``%%codex?`` shows them all) over
defaults that ``%config CodexMagics.<name> = ...`` sets. Every problem a user
can cause ends in a one-line ``UsageError``: the kernel stays alive, a run-all
stops there, and nothing else changes.
"""

from __future__ import annotations

import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, CFloat, CInt, Enum, Unicode

from . import _interrupt
from .options import OPTION_SPECS, RANKINGS, Options, options_from_args
from .types import CodexError


def _with_options(func: Any) -> Any:
    for flags, kwargs in reversed(OPTION_SPECS):
        func = argument(*flags, **kwargs)(func)
    return magic_arguments()(func)


@magics_class
class CodexMagics(Magics):
    """Write a function from its signature and docstring with a local model."""

    samples = CInt(10, help="candidates to sample").tag(config=True)
    temperature = CFloat(-1.0, help="sampling temperature; -1: chosen by the number of "
                                    "samples and the model").tag(config=True)
    top_p = CFloat(0.95).tag(config=True)
    top_k = CInt(40).tag(config=True)
    max_tokens = CInt(256).tag(config=True)
    model = Unicode("", help="GGUF path or registry name; empty: the default model").tag(
        config=True)
    timeout = CFloat(5.0, help="seconds each candidate's doctests may run").tag(config=True)
    rank = Enum(list(RANKINGS), "tests").tag(config=True)
    tests = Bool(True, help="run the docstring's doctests").tag(config=True)
    context = Bool(False, help="use imports and definitions of cells already run").tag(
        config=True)
    show_traceback = Bool(False, help="show full tracebacks instead of one-line errors").tag(
        config=True)

    def defaults(self) -> Options:
        try:
            return Options(
                samples=self.samples,
                temperature=None if self.temperature < 0 else self.temperature,
                top_p=self.top_p, top_k=self.top_k, max_tokens=self.max_tokens,
                model=self.model or None, timeout=self.timeout, rank=self.rank,
                tests=self.tests, context=self.context,
            )
        except CodexError as e:
            raise UsageError(f"codex: bad %config CodexMagics setting: {e}") from None

    @_with_options
    @cell_magic
    def codex(self, line: str, cell: str) -> None:
        """Sample candidate bodies for the function in this cell, test them with its
        doctests in a sandbox, and show them ranked.

        The cell holds a function signature with a docstring (and optionally
        imports and helpers before it). The ranked result is also in ``_codex``
        (``_codex.best.code`` is the top candidate's full function).
        """
        try:
            args = parse_argstring(self.codex, line)
        except UsageError as e:
            raise UsageError(f"codex: {e}".replace("\n", " ")) from None
        try:
            options = options_from_args(args, self.defaults())
        except CodexError as e:
            raise UsageError(f"codex: {e}") from None
        self._run(cell, options)

    @line_magic
    def codex_models(self, line: str) -> None:
        """List the models registry and whether each model is here."""
        from .models import list_models

        for m in list_models():
            mark = "✓" if m["installed"] else " "
            print(f"{mark} {m['name']:<24} {m['file']}  ({m['licence']})")

    def _run(self, cell: str, options: Options) -> None:
        from .pipeline import solve
        from .prompt import parse_cell
        from .widget import CodexWidget

        shell = self.shell
        assert shell is not None
        widget = None
        try:
            name = parse_cell(cell).function_name  # a bad cell fails before any widget
            context = kernel_context(shell, name) if options.context else ""
            widget = CodexWidget()
            handle = display(widget, display_id=True)
            with _interrupt.interruptible():
                result = solve(cell, options, context=context, progress=widget.on_progress)
                _interrupt.phase("render")
                t = time.perf_counter()
                widget.show_result(result)
            result.timings["render"] = time.perf_counter() - t
            if handle is not None:
                handle.update(widget)  # refresh the static HTML/text saved in the notebook
            shell.user_ns["_codex"] = result
            if options.timings:
                print(format_timings(result.timings))
        except CodexError as e:
            if widget is not None:
                widget.show_error(str(e))
            if self.show_traceback:
                raise
            raise UsageError(f"codex: {e}") from None
        except KeyboardInterrupt:
            if widget is not None:
                widget.show_error("interrupted")
            raise UsageError("codex: interrupted; nothing was changed, run the cell again "
                             "when you want") from None
        except Exception as e:
            if widget is not None:
                widget.show_error(f"{type(e).__name__}: {e}")
            if self.show_traceback:
                raise
            msg = str(e).splitlines()[0] if str(e) else ""
            raise UsageError(
                f"codex: internal error {type(e).__name__}: {msg} "
                "(%config CodexMagics.show_traceback = True shows the traceback)"
            ) from None


def format_timings(t: dict[str, float]) -> str:
    parts = [f"{k} {t[k]:.2f} s" for k in ("load", "prefill", "decode", "tests", "render")
             if k in t]
    if t.get("generated_tokens") and t.get("decode"):
        parts.append(f"{t['generated_tokens'] / t['decode']:.0f} tok/s")
    return "codex timings: " + ", ".join(parts)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(CodexMagics)


def kernel_context(shell: Any, function_name: str) -> str:
    """Imports and definitions of the cells this kernel has run, for ``--context``.

    ``In`` holds each cell as IPython ran it, magics already turned into calls,
    so a ``%%codex`` cell adds nothing; ``function_name``, the function being
    written, is left out. The sidebar's requests are not kept in ``In``.
    """
    from .prompt import collect_context

    return collect_context(shell.user_ns.get("In", []), exclude=[function_name])
