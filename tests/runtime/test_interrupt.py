"""The kernel's interrupt (■) ends a %%codex run in every phase, and leaves nothing behind.

Each test sets ``codex_magic.runtime.interrupts.hook`` in a real kernel so that the kernel
sends itself SIGINT (what ■ does) exactly when the run enters one phase: some
phases are entered inside llama.cpp's own C callbacks (model loading, the graph
of a prompt), where an exception raised by Python would be printed and dropped.
"""

import json

import pytest

from tests.engines.test_engine import gbnf_literal
from tests.kernel import deadline

pytestmark = pytest.mark.model

ADD = '''def add(a, b):
    """Return the sum of a and b.

    >>> add(2, 3)
    5
    """'''

ARM = '''
import os as _os, signal as _signal, tempfile as _tf, time as _time
import codex_magic.runtime.interrupts as _ci
_tf.tempdir = {tmp!r}  # sandbox work dirs go here, apart from other tests' ones
_fired, _ended = [], []
def _arm(name, _target={target!r}):
    if name == _target and not _fired:
        _fired.append(_time.monotonic())
        _os.kill(_os.getpid(), _signal.SIGINT)
_ci.hook = _arm
get_ipython().events.register("post_run_cell", lambda _r: _ended.append(_time.monotonic()))
'''

UNLOAD = '''
import codex_magic.engines.factory as _ce
for _e in list(_ce._engines.values()):
    _e.close()
_ce._engines.clear()
'''

REPORT = '''
import json as _json, psutil as _ps
_ci.hook = None
print(_json.dumps({
    "fired": bool(_fired),
    "took": (_ended[0] - _fired[0]) if _fired and _ended else None,
    "children": len(_ps.Process().children(recursive=True)),
    "dirs": sum(1 for p in _os.listdir(_tf.gettempdir()) if p.startswith("codex-sandbox-")),
}))
'''

# (phase, model loaded before?, extra options): every phase a run goes through.
PHASES = [
    ("resolve", False, ""),
    ("loading", False, ""),
    ("loading-tensors", False, ""),  # inside llama.cpp's load-progress callback
    ("context", False, ""),
    ("prefill", True, ""),
    ("prefill-graph", True, ""),  # inside llama.cpp's abort callback, mid-graph
    ("decode", True, ""),
    ("decode-grammar", True, "--grammar {endless}"),
    ("testing", True, ""),
    ("tests-running", True, "--grammar {sleepy}"),  # while a candidate's sandbox runs
    ("ranking", True, ""),
    ("render", True, ""),
]


@pytest.mark.parametrize(("phase", "loaded", "extra"), PHASES, ids=[p[0] for p in PHASES])
def test_interrupt_in_each_phase(kernel, tmp_path, phase, loaded, extra):
    endless = tmp_path / "endless.gbnf"
    endless.write_text('root ::= ("    x = 1\\n")+\n')
    sleepy = tmp_path / "sleepy.gbnf"  # a body whose doctests run past the interrupt
    sleepy.write_text(gbnf_literal("    import time\n    time.sleep(30)\n"))
    if loaded:
        assert kernel.run(f"%%codex -n 1 --max-tokens 4 --seed 1\n{ADD}",
                          timeout=deadline(1, 4)).status == "ok"
    else:
        assert kernel.run(UNLOAD).status == "ok"
    assert kernel.run(ARM.format(target=phase, tmp=str(tmp_path))).status == "ok"
    # Long enough that only the interrupt can end it early; a prompt the loaded model has
    # not seen, so that its prefill decodes it (a repeated prompt's KV is reused).
    flags = extra.format(endless=endless, sleepy=sleepy)
    cell = ADD.replace("sum of a and b", "sum of the numbers a and b")
    out = kernel.run(f"%%codex -n 4 --max-tokens 400 --seed 2 {flags}\n{cell}", timeout=60)
    report = json.loads(kernel.run(REPORT).stdout)
    assert report["fired"], f"the run never entered {phase}"
    assert out.status == "error", out.text
    assert "UsageError: codex: interrupted" in out.stderr, out.text
    assert report["took"] < 2.0, report
    assert report["children"] == 0 and report["dirs"] == 0, report
    again = kernel.run(f"%%codex -n 2 --max-tokens 16 --seed 3\n{ADD}", timeout=deadline(2, 16))
    assert again.status == "ok", again.text
