"""Prompt building: from a cell to the text the model continues, and back.

The cell holds what a HumanEval prompt holds: optional imports and helpers,
then a function signature with a docstring and no body. The model continues
the text after the docstring; its completion is cut where the body ends.
"""

from __future__ import annotations

import ast
import doctest
import re
from collections.abc import Iterable

from .types import CodexError, Doctest, Task

# The Codex paper's stop sequences, plus decorators: each begins a new top-level statement.
STOP_SEQUENCES: tuple[str, ...] = ("\nclass", "\ndef", "\n#", "\nif", "\nprint", "\n@")

# Any line that starts without indentation ends the function body too.
_UNINDENTED_LINE = re.compile(r"\n(?=[^\s])")


def parse_cell(cell: str, context: str = "") -> Task:
    """Split a cell into the parts the pipeline needs, or say clearly what is wrong."""
    if not isinstance(cell, str):
        raise CodexError("the cell must be text")
    try:
        cell.encode("utf-8")
    except UnicodeEncodeError as e:
        raise CodexError(f"the cell holds text that is not valid Unicode (character "
                         f"{e.start}): retype or delete it") from None
    cell = cell.replace("\r\n", "\n").expandtabs(4)
    if not cell.strip():
        raise CodexError(
            "the cell is empty: write a function signature with a docstring below %%codex"
        )
    try:
        tree = ast.parse(cell)
    except SyntaxError as e:
        raise CodexError(
            f"the cell is not valid Python (line {e.lineno}: {e.msg}): "
            "write a signature and a docstring, e.g. def f(x):\\n    \"\"\"...\"\"\""
        ) from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise CodexError(f"the cell cannot be parsed: {e}") from None

    if not tree.body or not isinstance(tree.body[-1], ast.FunctionDef):
        raise CodexError(
            "the cell must end with the function to write: a def with a docstring and no body"
        )
    func = tree.body[-1]
    docstring = ast.get_docstring(func, clean=True)
    if docstring is None:
        raise CodexError(
            f"function {func.name}() has no docstring: describe what it does in a docstring "
            "(with >>> examples to test the candidates)"
        )
    if len(func.body) > 1:
        raise CodexError(
            f"function {func.name}() already has a body: leave only the signature and docstring"
        )

    lines = cell.split("\n")
    start = min([func.lineno] + [d.lineno for d in func.decorator_list])
    end = func.end_lineno or func.lineno
    header = "\n".join(lines[start - 1 : end]) + "\n"
    # Keep the cell's layout (blank lines before the def included): the model sees it as written.
    preamble = "\n".join(lines[: start - 1]) + "\n" if "".join(lines[: start - 1]).strip() else ""

    doc_node = func.body[0]
    signature_lines = lines[start - 1 : doc_node.lineno - 1]
    signature_lines.append(lines[doc_node.lineno - 1][: doc_node.col_offset])
    signature = "\n".join(signature_lines).rstrip() + "\n"

    doctests = extract_doctests(docstring, func.name)
    context = context.rstrip() + "\n\n\n" if context.strip() else ""
    return Task(
        cell=preamble + header,
        prompt=context + preamble + header,
        header=header,
        preamble=preamble,
        context=context,
        function_name=func.name,
        doctests=doctests,
        signature=signature,
    )


def extract_doctests(docstring: str, name: str = "the function") -> tuple[Doctest, ...]:
    """The ``>>>`` examples of a docstring, as doctest itself reads them."""
    try:
        examples = doctest.DocTestParser().get_examples(docstring, name)
    except ValueError as e:
        msg = str(e).replace("\n", " ")
        raise CodexError(f"malformed doctest in the docstring: {msg}") from None
    return tuple(
        Doctest(
            source=ex.source,
            want=ex.want,
            exc_msg=ex.exc_msg,
            lineno=ex.lineno,
            options=dict(ex.options),
        )
        for ex in examples
    )


def cut_completion(text: str) -> str:
    """The function body within a completion: up to the first stop sequence
    or the first line that is not indented, without trailing blank lines."""
    text = text.replace("\r\n", "\n")
    # A completion begins right after the docstring's line, so a first line that
    # is not indented ends the body at once; a leading "\n" makes the rules apply to it.
    padded = "\n" + text
    cut = len(padded)
    for stop in STOP_SEQUENCES:
        i = padded.find(stop)
        if i != -1:
            cut = min(cut, i)
    m = _UNINDENTED_LINE.search(padded)
    if m:
        cut = min(cut, m.start())
    body = padded[1 : max(cut, 1)]
    if not body.strip():
        return ""
    return "\n".join(line.rstrip() for line in body.rstrip().split("\n")) + "\n"


def stop_index(text: str) -> int | None:
    """Where the body ends in a partial completion, or None if it may go on.

    Used while sampling: a stop found here ends that sequence.
    """
    padded = "\n" + text
    best: int | None = None
    for stop in STOP_SEQUENCES:
        i = padded.find(stop)
        if i != -1 and (best is None or i < best):
            best = i
    m = _UNINDENTED_LINE.search(padded)
    if m and (best is None or m.start() < best):
        best = m.start()
    return None if best is None else max(best - 1, 0)


def build_code(task: Task, body: str) -> str:
    """What the user gets: the cell's imports and helpers, signature, docstring and body."""
    return task.cell + body


def build_program(task: Task, body: str) -> str:
    """What the sandbox runs: the context, the cell's preamble and the function with
    its docstring left out, so the expected outputs are not in the candidate's process."""
    return task.context + task.preamble + task.signature + body


def collect_context(cells: Iterable[str], exclude: Iterable[str] = ()) -> str:
    """Imports and top-level function and class definitions of cells already run.

    Later definitions replace earlier ones of the same name; cells that are not
    valid Python (magics, syntax errors) are skipped.
    """
    skip = set(exclude)
    imports: dict[str, None] = {}
    defs: dict[str, str] = {}
    for source in cells:
        if not isinstance(source, str) or not source.strip():
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        lines = source.split("\n")
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                seg = ast.get_source_segment(source, node)
                if seg:
                    imports.setdefault(seg.strip(), None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name in skip:
                    continue
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                text = "\n".join(lines[first - 1 : node.end_lineno])
                defs.pop(node.name, None)
                defs[node.name] = text.rstrip()
    parts = []
    if imports:
        parts.append("\n".join(imports))
    parts.extend(defs.values())
    return "\n\n\n".join(parts) + "\n" if parts else ""


_SPACE_RUN = re.compile(r"[ \t]+")


def normalise(body: str) -> str:
    """The body with trailing spaces, blank lines and runs of inner spaces made uniform;
    indentation, which is meaningful, is kept."""
    lines = []
    for line in body.split("\n"):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(indent + _SPACE_RUN.sub(" ", stripped) if stripped else "")
    return "\n".join(line for line in lines if line.strip())
