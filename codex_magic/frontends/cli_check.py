"""Helpers of ``codex-magic check``: what the candidate file may not carry into the sandbox,
and text that a candidate wrote made safe for a terminal."""

from __future__ import annotations

import ast
import re
from typing import Any

from ..types import CodexError

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that
# reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\r``, ...)."""
    def show(m: re.Match[str]) -> str:
        c = m.group()
        return {"\r": "\\r", "\x1b": "\\x1b"}.get(c) or (
            f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
    return _UNSAFE.sub(show, text)


def quoted(text: str, prefix: str = "    | ") -> str:
    """Candidate-written text, escaped, each line behind a margin, so that no line of it
    can pass for a line of codex-magic's own report."""
    lines = escape(text).split("\n")
    return "\n".join(prefix + line for line in lines)


def strip_docstring(code: str, name: str) -> str:
    """``code`` with the docstring of every top-level function ``name`` replaced by
    ``None``: the candidate may not read its examples' expected outputs from its own file.
    The rest of the file is left as it is."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code  # the sandbox reports the syntax error as the candidate's verdict
    lines = code.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            doc = node.body[0]
            if (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                    and isinstance(doc.value.value, str) and doc.end_lineno is not None
                    and doc.end_col_offset is not None):
                spans.append((doc.lineno, doc.col_offset, doc.end_lineno, doc.end_col_offset))
    for start, col, end, end_col in reversed(spans):
        first = lines[start - 1].encode("utf-8")
        last = lines[end - 1].encode("utf-8")  # ast's column offsets are in UTF-8 bytes
        joined = first[:col] + b"None" + last[end_col:]
        lines[start - 1:end] = [joined.decode("utf-8")]
    stripped = "".join(lines)
    try:
        ast.parse(stripped)
    except SyntaxError:
        raise CodexError(f"cannot remove the docstring of {name}() from the code file") from None
    return stripped


def explain(info: dict[str, Any]) -> str:
    """What ``codex-magic check --explain`` prints."""
    if info["mode"] is None:
        return (f"sandbox policy: {info['policy']}\nmode: none: {info['why']}; candidates "
                "will not run under this policy")
    lines = [f"sandbox policy: {info['policy']}",
             f"mode: {info['mode']} ({info['why']})",
             f"kernel: Landlock ABI {info['landlock_abi']}, seccomp "
             f"{'available' if info['seccomp'] else 'missing'}, cgroup "
             f"{'available' if info['cgroup'] else 'not available'}, {info['arch']}",
             "blocks:"]
    lines += [f"  - {b}" for b in info["blocks"]]
    if info["not_blocked"]:
        lines.append("does not block:")
        lines += [f"  - {b}" for b in info["not_blocked"]]
    if info["notes"]:
        lines.append("notes: " + "; ".join(info["notes"]))
    lines.append("choose with CODEX_MAGIC_SANDBOX=auto|strict|namespaces|landlock|limits")
    return "\n".join(lines)
