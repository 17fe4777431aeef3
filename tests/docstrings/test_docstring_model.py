"""%%docstring, --rank review and --explain on the real default model (small runs: n 2-4,
at most 48 tokens)."""

import ast
import json

import pytest

from codex_magic.docstrings.explain import explain
from codex_magic.docstrings.write import review_scores
from codex_magic.engines.factory import get_engine
from codex_magic.frontends.cli import main
from codex_magic.prompt import parse_cell
from codex_magic.rank import rank
from codex_magic.types import Sample, Verdict
from tests.kernel import usage_error_line

pytestmark = pytest.mark.model

USER = '''import math


def circle_area(r):
    # pi r squared
    return math.pi * r ** 2
'''


def test_docstring_end_to_end_in_a_kernel(kernel):
    out = kernel.run(f"%%docstring -n 3 --max-tokens 40 --seed 1 --timings\n{USER}", timeout=240)
    assert out.status == "ok", out.text
    assert "scoring" in out.stdout and "codex timings" in out.stdout
    bundle = out.data[-1]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "ranked by back-translation" in bundle["text/plain"]
    res = kernel.run("import json; print(json.dumps([(c.code, c.docstring, c.score) "
                     "for c in _docstring.candidates]))")
    cands = json.loads(res.stdout)
    assert cands
    cut = USER.index("    # pi")
    for code, doc, score in cands:
        # Insert/Replace put exactly this: the user's bytes around one new docstring line(s).
        assert code.startswith(USER[:cut]) and code.endswith(USER[cut:])
        tree = ast.parse(code)
        assert ast.get_docstring(tree.body[1]) == doc
        tree.body[1].body = tree.body[1].body[1:]
        assert ast.dump(tree) == ast.dump(ast.parse(USER))
        assert score < 0
    assert [s for _, _, s in cands] == sorted((s for _, _, s in cands), reverse=True)


BAD = [
    ("", "empty"),
    ("x = 1\n", "has no function"),
    ("def f():\n    return 1\n\ndef g():\n    return 2\n", "2 functions"),
    ("def f(:\n    return 1\n", "not valid Python"),
    ("class A:\n    def f(self):\n        return 1\n", "holds class A"),
    ("\n   \n", "the cell is empty"),
    ("f = lambda x: x + 1\n", "lambda"),
    ("-n 0\n" + USER, "--samples"),
    ("--rank review\n" + USER, "unrecognized"),
]


@pytest.mark.parametrize(("cell", "message"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_one_line_and_the_kernel_lives(kernel, cell, message):
    line = usage_error_line(kernel, "docstring", cell)
    assert message in line
    if message != "empty":  # IPython itself answers a cell magic without a body
        assert line.startswith("UsageError: docstring: ")


def test_help_lists_the_options_that_apply(kernel):
    doc = kernel.run("print(get_ipython().find_cell_magic('docstring').__doc__)").stdout
    for flag in ("--samples", "--temperature", "--max-tokens", "--seed", "--model", "--output"):
        assert flag in doc
    assert "--rank" not in doc and "--timeout" not in doc


def test_codex_rank_review_and_explain_in_a_kernel(kernel):
    cell = '%%codex -n 3 --max-tokens 24 --seed 3 --rank review --explain --timings\n' \
           'def add(a, b):\n    """Add.\n\n    >>> add(1, 2)\n    3\n    """\n'
    out = kernel.run(cell, timeout=240)
    assert out.status == "ok", out.text
    assert "scoring" in out.stdout and "explain" in out.stdout
    res = json.loads(kernel.run("import json; print(json.dumps({'by': _codex.rank_by, "
                                "'c': [(c.review, c.explanation) for c in _codex.candidates]}))"
                                ).stdout)
    assert res["by"] == "review"
    reviews = [r for r, _ in res["c"]]
    assert all(isinstance(r, float) for r in reviews)
    assert all(e and "\n" not in e for _, e in res["c"])


ISEVEN = '''def is_even(n):
    """Return True when n is even, False when it is odd.

    >>> is_even(4)
    True
    >>> is_even(7)
    False
    """
'''


def test_review_ranks_a_hand_made_set_where_the_answer_is_known(default_model):
    """The right body first; the degenerate, repetitive one (which a likelihood that
    ignores the docstring can favour) and junk after."""
    engine = get_engine(default_model)
    task = parse_cell(ISEVEN)
    bodies = ["    zq = [[[[]]]]; return zq\n",
              "    return n\n    return n\n    return n\n    return n\n",
              "    return n % 2 == 0\n"]
    forward = [s.mean for s in engine.score(task.prompt, bodies)]
    review = review_scores(engine, task, bodies, forward)
    samples = [Sample(b, (f,), "stop", i)
               for i, (b, f) in enumerate(zip(bodies, forward, strict=True))]
    verdicts = [Verdict(0, 0, (), "no tests")] * 3
    ranked = rank(samples, bodies, bodies, verdicts, by="review", review=review)
    assert ranked[0].body == "    return n % 2 == 0\n", review


def test_explain_is_one_line_per_candidate_batched(default_model):
    engine = get_engine(default_model)
    task = parse_cell(ISEVEN)
    bodies = ["    return n % 2 == 0\n", "    return str(n)[::-1]\n", "    return n % 2 == 0\n"]
    lines = explain(engine, task, bodies, max_tokens=24)
    assert len(lines) == 3 and lines[0] == lines[2]
    assert all(line.strip() and "\n" not in line and '"""' not in line for line in lines)


def test_cli_docstring_json(tmp_path, capsys):
    path = tmp_path / "area.py"
    path.write_text(USER)
    assert main(["docstring", str(path), "--json", "-n", "2", "--max-tokens", "32",
                 "--seed", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["function"] == "circle_area" and data["candidates"]
    for c in data["candidates"]:
        assert isinstance(c["score"], float) and c["docstring"] and c["code"].endswith(
            USER[USER.index("    # pi"):])
    assert main(["docstring", str(path), "--rank", "review"]) == 2
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    assert main(["docstring", str(bad)]) == 2
    assert "has no function" in capsys.readouterr().err
