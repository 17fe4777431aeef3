import pytest

from codex_magic.prompt import (
    build_code,
    build_program,
    collect_context,
    cut_completion,
    parse_cell,
    stop_index,
)
from codex_magic.types import CodexError

CELL = '''import math

def helper(x):
    return x * 2


@staticmethod
def area(r):
    """Area of a circle.

    >>> round(area(1), 2)
    3.14
    >>> area(-1)
    Traceback (most recent call last):
    ValueError: negative radius
    """
'''


def test_parse_cell_splits_preamble_header_and_doctests():
    task = parse_cell(CELL)
    assert task.function_name == "area"
    assert task.preamble.startswith("import math") and "def helper" in task.preamble
    assert task.header.startswith("@staticmethod\ndef area(r):")
    assert task.prompt.endswith('    """\n')
    assert [d.source for d in task.doctests] == ["round(area(1), 2)\n", "area(-1)\n"]
    assert task.doctests[0].want == "3.14\n"
    assert task.doctests[1].exc_msg == "ValueError: negative radius\n"


def test_program_leaves_out_the_docstring_but_code_keeps_it():
    task = parse_cell(CELL)
    body = "    return math.pi * r * r\n"
    program = build_program(task, body)
    assert ">>>" not in program and "3.14" not in program
    compile(program, "<p>", "exec")
    assert build_code(task, body) == task.cell + body
    assert '"""Area of a circle.' in build_code(task, body)


def test_one_line_docstring_signature():
    task = parse_cell('def f(x): """Double x. >>> no"""\n')
    assert task.signature.rstrip() == "def f(x):"
    compile(build_program(task, "    return 2 * x\n"), "<p>", "exec")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("def f(x):\n    return x\n", "no docstring"),
        ("def f(x):\n    '''doc'''\n    return x\n", "already has a body"),
        ("x = 1\n", "must end with the function"),
        ("def f(x:\n", "not valid Python"),
        ("class A:\n    '''doc'''\n", "must end with the function"),
        ('def f():\n    """\n    >>>x = 1\n    """\n', "malformed doctest"),
    ],
)
def test_bad_cells_give_one_line_errors(cell, message):
    with pytest.raises(CodexError) as e:
        parse_cell(cell)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_no_doctests_is_fine():
    assert parse_cell('def f(x):\n    """Double x."""\n').doctests == ()


@pytest.mark.parametrize(
    ("completion", "body"),
    [
        ("    return x\n\ndef g():\n    pass", "    return x\n"),
        ("    return x\nclass A: pass", "    return x\n"),
        ("    return x\n# done", "    return x\n"),
        ("    return x\nif __name__ == '__main__':", "    return x\n"),
        ("    return x\nprint(f(1))", "    return x\n"),
        ("    return x\n@decorator", "    return x\n"),
        ("    return x\nf(3)\n", "    return x\n"),
        ("    y = 1\n\n    return y  \n\n\n", "    y = 1\n\n    return y\n"),
        ("def g(): pass", ""),
        ("", ""),
    ],
)
def test_cut_completion_at_the_paper_stops_and_unindented_lines(completion, body):
    assert cut_completion(completion) == body


def test_stop_index_only_when_the_body_has_ended():
    assert stop_index("    return x\n") is None
    assert stop_index("    return x\n\n") is None
    assert stop_index("    return x\ndef") == len("    return x")
    assert stop_index("x") == 0


def test_context_collects_imports_and_latest_definitions():
    cells = [
        "import os\nx = 1\n\ndef f():\n    return 1\n",
        "%matplotlib inline\n",
        "from math import pi\n\n@dec\nclass C:\n    pass\n\ndef f():\n    return 2\n",
        "def target():\n    return 0\n",
    ]
    ctx = collect_context(cells, exclude=["target"])
    assert "import os" in ctx and "from math import pi" in ctx
    assert "return 2" in ctx and "return 1" not in ctx
    assert "@dec\nclass C" in ctx
    assert "x = 1" not in ctx and "target" not in ctx
    task = parse_cell('def g():\n    """doc"""\n', context=ctx)
    assert task.prompt.startswith(ctx.rstrip()) and "import os" in build_program(task, "    pass\n")


def test_text_that_is_not_unicode():
    with pytest.raises(CodexError, match="not valid Unicode"):
        parse_cell('def f():\n    """caf\udce9"""\n')


def test_the_prompt_keeps_the_cells_layout():
    cell = 'from typing import List\n\n\ndef f(xs: List[int]) -> int:\n    """Sum."""\n'
    assert parse_cell(cell).prompt == cell
