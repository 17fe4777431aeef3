"""The hostile corpus through the real %%codex path: a real kernel, the real llama.cpp engine
(a tiny model whose output a GBNF grammar forces to be the hostile body), the real sandbox."""

import json
import time
from pathlib import Path

import pytest

from codex_magic.prompt import cut_completion
from tests.engines.test_engine import gbnf_literal
from tests.kernel import Kernel
from tests.sandbox.test_sandbox import HOSTILE, MARK, TIMEOUT, _procs_with

CELL = '''def f(x):
    """Double x.

    >>> f(1)
    2
    >>> f(21)
    42
    """'''

SNAPSHOT = ("import json as _json; print(_json.dumps(sorted(k for k in globals() "
            "if not k.startswith('_') and k not in ('In', 'Out', 'exit', 'quit', 'get_ipython'))))")


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    assert k.run("%load_ext codex_magic\nsentinel = [1, 2, 3]").status == "ok"
    yield k
    k.close()


@pytest.mark.parametrize(("name", "body", "expect"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_candidate_through_codex(kernel, tiny_model, tmp_path, name, body, expect):
    grammar = tmp_path / "g.gbnf"
    grammar.write_text(gbnf_literal(body))
    names = kernel.run(SNAPSHOT).stdout
    t0 = time.monotonic()
    out = kernel.run(f"%%codex --model {tiny_model} --grammar {grammar} -n 1 -t 0 "
                     f"--max-tokens 400 --timeout {TIMEOUT}\n{CELL}", timeout=120)
    took = time.monotonic() - t0
    assert out.status == "ok", out.text
    assert took < 60, f"{name}: {took:.1f} s"
    verdict = json.loads(kernel.run(
        "import json as _json, dataclasses as _dc\n"
        "print(_json.dumps(_dc.asdict(_codex.best.verdict) | {'body': _codex.best.body, "
        "'tests_s': _codex.timings['tests']}))"
    ).stdout)
    # The candidate's run ends within its time limit plus a margin for process start-up.
    assert verdict["tests_s"] < TIMEOUT + 3, (name, verdict["tests_s"])
    assert verdict["body"] == cut_completion(body)  # an unindented line ends the body
    if verdict["body"] != body:
        pass  # the pipeline cut the hostile tail off before anything ran
    elif expect == "ok-pass":
        assert verdict["passed"] == 2, verdict
    elif expect != "any":
        assert verdict["passed"] < 2, verdict
    # The kernel is alive, its variables unchanged, nothing left behind.
    assert kernel.run("print(sentinel)").stdout.strip() == "[1, 2, 3]"
    assert kernel.run(SNAPSHOT).stdout == names
    time.sleep(0.05)
    assert _procs_with(MARK) == []
    assert not (Path("/tmp") / MARK).exists() and not (Path.home() / MARK).exists()
    assert not (Path.cwd() / MARK).exists()
