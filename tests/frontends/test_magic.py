"""%%codex in a real IPython kernel, on the real default model."""

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.kernel import Kernel, deadline, usage_error_line

pytestmark = pytest.mark.model

ADD = '''def add(a, b):
    """Return the sum of a and b.

    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """'''


def test_load_ext_is_fast_and_lazy():
    k = Kernel()
    try:
        out = k.run("import sys, time\nt = time.perf_counter()\n%load_ext codex_magic\n"
                    "print(time.perf_counter() - t, 'llama_cpp' in sys.modules, "
                    "'anywidget' in sys.modules)")
        took, llama, widget = out.stdout.split()
        assert float(took) < 1.0 and llama == "False" and widget == "False"
    finally:
        k.close()


def test_codex_end_to_end_ranked_and_tested(kernel):
    out = kernel.run(f"%%codex -n 4 --max-tokens 48 --seed 1\n{ADD}")
    assert out.status == "ok", out.text
    bundle = out.data[-1]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "samples pass all 2 doctests" in bundle["text/plain"]
    assert "<pre>" in bundle["text/html"]
    res = kernel.run("import json; print(json.dumps({'n': _codex.n_samples, "
                     "'best': _codex.best.code, 'passed': _codex.best.verdict.passed, "
                     "'correct': _codex.n_correct}))")
    data = json.loads(res.stdout)
    assert data["n"] == 4 and data["best"].startswith("def add(a, b):")
    if data["correct"]:
        assert data["passed"] == 2
    assert kernel.run("_codex.candidates[0].rank").data[-1]["text/plain"] == "1"


def test_same_seed_same_candidates_and_model_loaded_once(kernel):
    cmd = f"%%codex -n 3 --max-tokens 32 --seed 5 --timings\n{ADD}"
    first = kernel.run(cmd)
    a = kernel.run("print([c.code for c in _codex.candidates])").stdout
    second = kernel.run(cmd)
    b = kernel.run("print([c.code for c in _codex.candidates], _codex.timings['load'])").stdout
    assert first.status == second.status == "ok"
    assert "codex timings: load" in second.stdout
    assert b.startswith(a.strip()) and b.split()[-1] == "0.0"


def test_no_doctests_ranks_by_logprob(kernel):
    out = kernel.run('%%codex -n 2 --max-tokens 24 --seed 2\ndef double(x):\n    """Twice x."""')
    assert out.status == "ok", out.text
    assert "no doctests" in out.data[-1]["text/plain"]
    assert kernel.run("print(_codex.rank_by)").stdout.strip() == "logprob"


BAD = [
    ("", "empty"),  # IPython itself answers an empty cell body
    ("\n   \n\n", "cell is empty"),
    ("def f(x):\n    return x", "no docstring"),
    ("-n 0\n" + ADD, "--samples"),
    ("-n -3\n" + ADD, "--samples"),
    ("-n 100000\n" + ADD, "--samples"),
    ("-n abc\n" + ADD, "invalid int"),
    ("--temperature hot\n" + ADD, "invalid float"),
    ("--temperature 9\n" + ADD, "--temperature"),
    ("--top-p 0\n" + ADD, "--top-p"),
    ("--max-tokens 0\n" + ADD, "--max-tokens"),
    ("--timeout -1\n" + ADD, "--timeout"),
    ("--rank best\n" + ADD, "invalid choice"),
    ("--bogus\n" + ADD, "unrecognized"),
    ("--model /no/such/file.gguf\n" + ADD, "model file not found"),
    ("--model /tmp\n" + ADD, "directory"),
    ("--model no-such-model\n" + ADD, "unknown model"),
    ("--model qwen2.5-coder-7b\n" + ADD, "not downloaded"),
    ("--max-tokens 64\n" + ADD.replace("Return", "Return " + "very " * 40000), "context"),
    ('def f():\n    """\n    >>>x\n    """', "malformed doctest"),
    ("def f(:\n", "not valid Python"),
]


@pytest.mark.parametrize(("cell", "message"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_bad_input_is_one_line_and_the_kernel_lives(kernel, cell, message):
    assert message in usage_error_line(kernel, "codex", cell)


def test_bad_model_files_in_the_cell(kernel, tmp_path, default_model):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"\x00" * 1024)
    truncated = tmp_path / "cut.gguf"
    with open(default_model, "rb") as f:
        truncated.write_bytes(f.read(4 << 20))
    for path, message in ((junk, "not a GGUF"), (truncated, "could not load")):
        out = kernel.run(f"%%codex --model {path}\n{ADD}")
        assert out.status == "error" and message in out.stderr, out.stderr
    assert kernel.run("print('alive')").stdout.strip() == "alive"


def test_interrupt_during_sampling_then_rerun(kernel, tmp_path):
    kernel.run(f"%%codex -n 1 --max-tokens 8 --seed 3\n{ADD}")  # model loaded
    # A grammar of endless indented lines keeps every sequence going to --max-tokens.
    endless = tmp_path / "endless.gbnf"
    endless.write_text('root ::= ("    x = 1\\n")+\n')
    out = kernel.run(f"%%codex -n 8 --max-tokens 4000 --grammar {endless} --seed 3\n{ADD}",
                     interrupt_after=2.0, timeout=15)
    assert out.status == "error"
    assert "UsageError: codex: interrupted" in out.stderr
    assert out.seconds < 2.0 + 3.0, out.seconds
    again = kernel.run(f"%%codex -n 2 --max-tokens 32 --seed 3\n{ADD}", timeout=deadline(2, 32))
    assert again.status == "ok", again.text


def test_unparsable_candidates_are_reported_not_fatal(kernel):
    # Greedy decoding with a single token per candidate leaves an unfinished body.
    out = kernel.run(f"%%codex -n 2 --max-tokens 2 --seed 1\n{ADD}")
    assert out.status == "ok", out.text
    res = kernel.run("print({c.verdict.status for c in _codex.candidates})").stdout
    assert "syntax error" in res or "empty" in res or "ok" in res


def test_context_uses_earlier_cells(kernel):
    kernel.run("import math\n\ndef square(x):\n    return x * x\n")
    out = kernel.run('%%codex --context -n 2 --max-tokens 32 --seed 4\n'
                     'def hyp(a, b):\n    """Hypotenuse.\n\n    >>> hyp(3, 4)\n    5.0\n    """')
    assert out.status == "ok", out.text
    assert kernel.run("print(_codex.best.code.startswith('def hyp'))").stdout.strip() == "True"
    # What went before the prompt: the earlier cell's import and function, not
    # the %%codex cell (In holds it as a run_cell_magic call) nor hyp itself.
    kernel.run("def hyp(a, b):\n    return 0\n")
    context = kernel.run("from codex_magic.frontends.magic import kernel_context\n"
                         "print(kernel_context(get_ipython(), 'hyp'))").stdout
    assert "import math" in context and "def square(x):\n    return x * x" in context
    assert "run_cell_magic" not in context and "def hyp" not in context


def test_config_defaults(kernel):
    kernel.run("%config CodexMagics.samples = 2\n%config CodexMagics.max_tokens = 16")
    out = kernel.run(f"%%codex --seed 1\n{ADD}")
    assert out.status == "ok"
    assert kernel.run("print(_codex.n_samples)").stdout.strip() == "2"
    kernel.run("%config CodexMagics.samples = 0")
    bad = kernel.run(f"%%codex\n{ADD}")
    assert bad.status == "error" and "CodexMagics" in bad.stderr
    kernel.run("%config CodexMagics.samples = 10\n%config CodexMagics.max_tokens = 256")


def test_help_lists_the_options(kernel):
    out = kernel.run("print(get_ipython().find_cell_magic('codex').__doc__)")
    for flag in ("--samples", "--temperature", "--top-p", "--max-tokens", "--seed", "--model",
                 "--timeout", "--rank", "--no-tests", "--context", "--timings"):
        assert flag in out.stdout


def test_back_to_back_cells_in_a_notebook(tmp_path):
    """The demo-notebook path: nbclient runs the cells; outputs keep the final ranking."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext codex_magic")] + [
        nbformat.v4.new_code_cell(f"%%codex -n 2 --max-tokens 32 --seed {i}\n{ADD}")
        for i in range(2)
    ] + [nbformat.v4.new_code_cell("print(_codex.n_samples)")]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in nb.cells[1:3]:
        plain = cell.outputs[-1]["data"]["text/plain"]
        assert "samples pass all 2 doctests" in plain and "#1" in plain
    assert nb.cells[3].outputs[0]["text"].strip() == "2"
    assert os.listdir(tmp_path) == []  # nothing written where the notebook runs
