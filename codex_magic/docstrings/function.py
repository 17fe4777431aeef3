"""The ``%%docstring`` cell: its function, and putting a model's docstring into it safely.

A docstring the model writes is hostile text: a ``\"\"\"``, a backslash, a stray
quote or a control character in it must never end the string literal and turn
the rest into code in the user's cell. So a docstring goes into the code only
through ``with_docstring``, which

1. writes it as a literal with everything that could end or bend the string
   escaped (``docstring_literal``),
2. splices that literal into the user's source, leaving every other character
   as it was (the text before and after is compared, byte for byte),
3. parses the result and refuses it unless the function's docstring now reads
   exactly as intended and the module's syntax tree, docstring aside, is the
   user's own.

Whatever is refused raises ``Unsafe`` with the reason in a few words.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from dataclasses import dataclass

from ..types import CodexError

# A docstring beyond these is not one (a runaway sample, or an attack on the editor).
MAX_CHARS = 20_000
MAX_LINE = 1_000

_NEWLINE = re.compile(r"\r\n|\r|\n")
_OPENING = re.compile(r"[rRuU]?(\"\"\"|'''|\"|')")


class Unsafe(ValueError):
    """A docstring that cannot go into the code as it is; the message says why."""


@dataclass(frozen=True)
class Function:
    """The one function of a ``%%docstring`` cell, located in the cell's text.

    Offsets are character offsets into ``source``. A new docstring replaces
    ``source[doc_start:doc_end]`` (empty when there is none yet: then the
    docstring goes in as a new line at ``doc_start``).
    """

    source: str  # the cell below the magic line, exactly as written
    name: str
    index: int  # its position among the module's top-level statements
    start: int  # where its first line (decorators included) begins
    header_end: int  # just after the line holding the signature's colon
    doc_start: int
    doc_end: int
    body_start: int  # where the first line of code after the docstring begins
    end: int  # just after the function's last line
    indent: str  # the body's indentation
    docstring: str | None  # the docstring it has now, cleaned
    doc_literal: str  # that docstring's literal as written ("" when there is none)

    @property
    def preamble(self) -> str:
        """What comes before the function (imports, helpers)."""
        return self.source[: self.start]

    @property
    def header(self) -> str:
        """Decorators and signature, through the colon's line."""
        return self.source[self.start : self.header_end]

    @property
    def signature(self) -> str:
        """The ``def`` line(s) alone, without decorators."""
        head = self.header
        m = re.search(r"^[ \t]*(async[ \t]+)?def\b", head, re.M)
        return head[m.start() :] if m else head

    @property
    def body(self) -> str:
        """The function's code after its docstring, as written."""
        return self.source[self.body_start : self.end]

    @property
    def code(self) -> str:
        """The function without its docstring: header and body."""
        return self.header + self.body


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based: index 0 unused)."""
    starts = [0, 0]
    starts += [m.end() for m in _NEWLINE.finditer(source)]
    return starts


def _char_col(source: str, line_start: int, byte_col: int) -> int:
    """An AST column (UTF-8 bytes) as a character offset into ``source``."""
    m = _NEWLINE.search(source, line_start)
    line = source[line_start : m.start() if m else len(source)]
    return line_start + len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


def _line_end(source: str, pos: int) -> int:
    """Just after the line break of the line holding ``pos`` (or the end of the text)."""
    m = _NEWLINE.search(source, pos)
    return m.end() if m else len(source)


def parse_function(cell: str) -> Function:
    """Find the one function of the cell, or say in one line what is wrong."""
    if not cell.strip():
        raise CodexError("the cell is empty: write the function to document below %%docstring")
    if "\x00" in cell:
        raise CodexError("the cell holds a NUL character: delete it")
    try:
        tree = ast.parse(cell)
    except SyntaxError as e:
        raise CodexError(f"the cell is not valid Python (line {e.lineno}: {e.msg}): "
                         "%%docstring needs a complete function") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise CodexError(f"the cell cannot be parsed: {e}") from None
    funcs = [(i, n) for i, n in enumerate(tree.body)
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    if classes:
        raise CodexError(f"the cell holds class {classes[0]}: %%docstring documents one "
                         "function; put the function in a cell of its own")
    if len(funcs) > 1:
        names = ", ".join(f"{n.name}()" for _, n in funcs)
        raise CodexError(f"the cell holds {len(funcs)} functions ({names}): %%docstring "
                         "documents one; keep one function per cell")
    if not funcs:
        if any(isinstance(n, ast.Lambda) for n in ast.walk(tree)):
            raise CodexError("a lambda cannot have a docstring: write it as a def function")
        raise CodexError("the cell has no function: write a def with its code below "
                         "%%docstring")
    index, func = funcs[0]
    docstring = ast.get_docstring(func, clean=True)
    code = func.body[1:] if docstring is not None else func.body
    if not code:
        raise CodexError(f"function {func.name}() has no code to describe: write its body "
                         "first")

    lines = _offsets(cell)
    first_line = min([func.lineno] + [d.lineno for d in func.decorator_list])
    start = lines[first_line]
    colon_line = _colon_line(cell, lines[func.lineno], func)
    header_end = _line_end(cell, lines[colon_line])
    first = func.body[0]
    if first.lineno <= colon_line:
        raise CodexError(f"the body of {func.name}() is on its def line: put it on lines of "
                         "its own")
    first_start = lines[first.lineno]
    indent = cell[first_start : _char_col(cell, first_start, first.col_offset)]
    if indent.strip() or not indent:
        raise CodexError(f"the body of {func.name}() shares its first line with other code: "
                         "put each statement on a line of its own")
    end = _line_end(cell, lines[func.end_lineno or func.lineno])
    if docstring is not None:
        node = func.body[0]
        doc_start = _char_col(cell, lines[node.lineno], node.col_offset)
        doc_end = _char_col(cell, lines[node.end_lineno or node.lineno],
                            node.end_col_offset or 0)
        if cell[lines[node.lineno] : doc_start].strip():
            raise CodexError(f"the docstring of {func.name}() shares its line with other "
                             "code: put it on a line of its own")
        body_start = _line_end(cell, doc_end)
        if cell[doc_end:body_start].strip() and not cell[doc_end:body_start].strip(
                ).startswith("#"):
            raise CodexError(f"code follows the docstring of {func.name}() on its line: "
                             "put it on a line of its own")
        literal = cell[doc_start:doc_end]
    else:
        doc_start = doc_end = header_end
        body_start = header_end
        literal = ""
    return Function(source=cell, name=func.name, index=index, start=start,
                    header_end=header_end, doc_start=doc_start, doc_end=doc_end,
                    body_start=body_start, end=end, indent=indent, docstring=docstring,
                    doc_literal=literal)


def _colon_line(source: str, def_start: int, func: ast.FunctionDef | ast.AsyncFunctionDef
                ) -> int:
    """The line (1-based) of the colon that ends the function's signature."""
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source[def_start:]).readline):
            if tok.type != tokenize.OP:
                continue
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
            elif tok.string == ":" and depth == 0:
                return func.lineno + tok.start[0] - 1
    except (tokenize.TokenError, SyntaxError):
        pass
    # Not found (cannot happen for code that parsed): the line before the body, which
    # with_docstring's checks still guard.
    return func.body[0].lineno - 1


# -- the docstring as a literal ----------------------------------------------------------


def clean(text: str) -> str:
    """A docstring's text as ``ast.get_docstring`` gives it: no surrounding blank lines,
    the first line stripped, the common indentation of the others removed."""
    text = inspect.cleandoc(_NEWLINE.sub("\n", text).expandtabs(4))
    return "\n".join(line.rstrip() for line in text.split("\n"))


def docstring_literal(text: str, indent: str) -> str:
    """``text`` as a triple-quoted literal for a body indented by ``indent``; its value,
    cleaned, is ``text`` again. Raises ``Unsafe`` for text that is no docstring."""
    text = clean(text)
    if not text:
        raise Unsafe("it is empty")
    if len(text) > MAX_CHARS:
        raise Unsafe(f"it is {len(text):,} characters long")
    longest = max(len(line) for line in text.split("\n"))
    if longest > MAX_LINE:
        raise Unsafe(f"it has a line of {longest:,} characters")
    printable = all(c == "\n" or c.isprintable() for c in text)
    if "\\" in text and printable and '"""' not in text and not text.endswith(('"', "\\")):
        prefix, inner = "r", text  # a raw string reads as written (regexes, Windows paths)
    else:
        prefix, inner = "", _escape(text)
    lines = inner.split("\n")
    if len(lines) == 1:
        return f'{prefix}"""{inner}"""'
    rest = "\n".join(indent + line if line else "" for line in lines[1:])
    return f'{prefix}"""{lines[0]}\n{rest}\n{indent}"""'


def _escape(text: str) -> str:
    """Backslashes doubled, unprintable characters as escapes, every third quote of a
    run escaped (so no \"\"\" is left), and a final quote escaped (it would join the
    closing ones)."""
    out, run = [], 0
    for i, c in enumerate(text):
        run = run + 1 if c == '"' else 0
        if c == '"':
            out.append('\\"' if run % 3 == 0 or i == len(text) - 1 else '"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n" or c.isprintable():
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def with_docstring(fn: Function, text: str) -> str:
    """The cell with ``text`` as the function's docstring and nothing else changed.

    Raises ``Unsafe`` unless the result parses, its function's docstring is
    exactly ``clean(text)``, and its syntax tree without the docstring equals
    the user's.
    """
    literal = docstring_literal(text, fn.indent)
    src = fn.source
    new_part = literal if fn.docstring is not None else fn.indent + literal + "\n"
    new = src[: fn.doc_start] + new_part + src[fn.doc_end :]
    # By construction; checked because everything rests on it.
    if not (new.startswith(src[: fn.doc_start]) and new.endswith(src[fn.doc_end :])):
        raise Unsafe("the code around it would change")
    try:
        tree = ast.parse(new)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise Unsafe(f"the code would not parse ({type(e).__name__})") from None
    if len(tree.body) <= fn.index or not isinstance(
            tree.body[fn.index], (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise Unsafe("the function would change")
    got = ast.get_docstring(tree.body[fn.index], clean=True)  # type: ignore[arg-type]
    if got != clean(text):
        raise Unsafe("it would not read back as written")
    if _without_docstring(tree, fn.index) != _without_docstring(ast.parse(src), fn.index):
        raise Unsafe("the function's code would change")
    return new


def _without_docstring(tree: ast.Module, index: int) -> str:
    func = tree.body[index]
    if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
            ast.get_docstring(func, clean=False) is not None:
        func.body = func.body[1:]
    return ast.dump(tree, include_attributes=False)


def code_without_docstring(code: str) -> str:
    """A %%codex candidate's function with its docstring removed, for prompts that must
    see the code alone: the last top-level function of ``code`` loses its docstring."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not funcs or ast.get_docstring(funcs[-1], clean=False) is None:
        return code
    node = funcs[-1].body[0]
    lines = _offsets(code)
    start = lines[node.lineno]
    end = _line_end(code, lines[node.end_lineno or node.lineno])
    return code[:start] + code[end:]


def opening(literal: str) -> tuple[str, str]:
    """(prefix and opening quotes, the rest) of a string literal's source."""
    m = _OPENING.match(literal)
    if not m:
        return '"""', literal
    return literal[: m.end()], literal[m.end() :]
