"""docstring.py: finding the function, and putting hostile docstrings into it safely (no model)."""

import ast

import pytest

from codex_magic.docstrings import function as ds
from codex_magic.docstrings.function import Unsafe, clean, parse_function, with_docstring
from codex_magic.types import CodexError

CELL = '''import math

# helpers above stay as they are
@functools.cache
def area(r: float,
         k: dict = {1: 2}) -> float:  # a comment on the signature
    # a comment before the code
    return math.pi * r ** 2 * k[1]

print(area(2))
'''

# Model output a docstring must survive: each is escaped and inserted, or refused.
HOSTILE = [
    'Area."""\nimport os; os.system("echo owned")\n"""',
    'Ends the string""" ; import os #',
    "Single quotes '''then code''' here",
    'A backslash \\ and \\n and \\x41 and \\"',
    "A NUL \x00 byte and a bell \x07",
    'Ends with a quote"',
    "Ends with a backslash\\",
    '"""',
    '"' * 10,
    "\\" * 5 + '"""' + "\\",
    "Tabs\tand\r\nCRLF and a \u2028 line separator and \x85",
    "Unicode: é, 漢字, 🙂",
    "r'''raw''' and f\"{__import__('os')}\"",
    "Line one.\n\n    >>> area(1)\n    3.14\n",
]


def _outside(fn, new):
    """The text before and after the docstring in ``new``, for the byte-for-byte check."""
    return new[: fn.doc_start], new[len(new) - (len(fn.source) - fn.doc_end) :]


def _code_tree(src, index):
    tree = ast.parse(src)
    func = tree.body[index]
    if ast.get_docstring(func, clean=False) is not None:
        func.body = func.body[1:]
    return ast.dump(tree)


def test_the_function_is_found_with_its_parts():
    fn = parse_function(CELL)
    assert fn.name == "area" and fn.indent == "    " and fn.docstring is None
    assert fn.preamble == "import math\n\n# helpers above stay as they are\n"
    assert fn.header.startswith("@functools.cache\ndef area(")
    assert fn.header.endswith("# a comment on the signature\n")
    assert fn.signature.startswith("def area(r: float,")
    assert fn.body == "    # a comment before the code\n    return math.pi * r ** 2 * k[1]\n"


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_docstrings_are_escaped_never_code(text):
    fn = parse_function(CELL)
    new = with_docstring(fn, text)
    # Byte for byte outside the docstring, the same syntax tree but for it, and the
    # docstring reads back as the model's (cleaned) text: no character became code.
    assert _outside(fn, new) == (CELL[: fn.doc_start], CELL[fn.doc_end :])
    assert _code_tree(new, fn.index) == _code_tree(CELL, fn.index)
    assert ast.get_docstring(ast.parse(new).body[fn.index]) == clean(text)
    assert "\x00" not in new


def test_a_huge_or_empty_docstring_is_refused():
    fn = parse_function(CELL)
    for text, why in (("x" * 100_000, "characters long"), ("ok\n" + "y" * 5000, "a line of"),
                      ("", "empty"), ("  \n\t\n", "empty")):
        with pytest.raises(Unsafe, match=why):
            with_docstring(fn, text)


def test_a_literal_that_would_put_code_in_the_cell_is_refused(monkeypatch):
    """The last line of defence: whatever the literal, the parsed result is checked."""
    fn = parse_function(CELL)
    for evil in ('"""Doc."""\n    import os', '"""Doc."""; import os', '"""Doc"""\n'
                 'x = 1  #', '"""Other."""'):
        monkeypatch.setattr(ds, "docstring_literal", lambda text, indent, evil=evil: evil)
        with pytest.raises(Unsafe):
            with_docstring(fn, "Doc.")


def test_an_existing_docstring_is_replaced_and_comments_kept():
    cell = 'def f(x):\n    \'\'\'Old.\'\'\'  # keep me\n    return x  # and me\n'
    fn = parse_function(cell)
    assert fn.docstring == "Old." and fn.doc_literal == "'''Old.'''"
    new = with_docstring(fn, "New.\n\nMore text.")
    assert new == ('def f(x):\n    """New.\n\n    More text.\n    """  # keep me\n'
                   '    return x  # and me\n')


@pytest.mark.parametrize("cell", [
    "async def f(x):\n    return await x\n",
    "def f(x):\n\n    # first a comment\n\n    return x\n",
    "def f(x):\n        return x\n",  # eight spaces
    "def f(x):\n\treturn x\n",  # a tab
    "def é(ü='漢字'):\n    return ü\n",  # columns are UTF-8 bytes in the syntax tree
    "def f(x):\r\n    return x\r\n",
    "class_ = 1\n\ndef f(x=(lambda y: y)):\n    return x\n",
])
def test_layouts_keep_every_byte(cell):
    fn = parse_function(cell)
    new = with_docstring(fn, 'Doc "quoted" \\ text.')
    assert _outside(fn, new) == (cell[: fn.doc_start], cell[fn.doc_end :])
    assert ast.get_docstring(ast.parse(new).body[fn.index]) == 'Doc "quoted" \\ text.'


BAD = [
    ("", "the cell is empty"),
    ("  \n\n", "the cell is empty"),
    ("x = 1\n", "has no function"),
    ("def f(:\n", "not valid Python (line 1"),
    ("class A:\n    def f(self):\n        return 1\n", "holds class A"),
    ("def f():\n    return 1\n\ndef g():\n    return 2\n", "2 functions (f(), g())"),
    ("square = lambda x: x * x\n", "a lambda cannot have a docstring"),
    ('def f():\n    """Only a docstring."""\n', "no code to describe"),
    ("def f(x): return x\n", "on its def line"),
    ('def f(x):\n    """Doc."""; return x\n', "code follows the docstring"),
    ("def f():\n    return 1\x00\n", "NUL"),
]


@pytest.mark.parametrize(("cell", "message"), BAD, ids=[b[1] for b in BAD])
def test_bad_cells_say_what_is_wrong_in_one_line(cell, message):
    with pytest.raises(CodexError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        parse_function(cell)
    assert "\n" not in str(e.value)


def test_code_without_docstring():
    code = 'import re\n\ndef f(x):\n    """Doc.\n\n    >>> f(1)\n    1\n    """\n    return x\n'
    assert ds.code_without_docstring(code) == "import re\n\ndef f(x):\n    return x\n"
    assert ds.code_without_docstring("def f(:") == "def f(:"


def test_opening_of_a_literal():
    assert ds.opening('"""Doc."""') == ('"""', 'Doc."""')
    assert ds.opening("r'''a\\b'''") == ("r'''", "a\\b'''")
