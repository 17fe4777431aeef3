"""%%codex, the CLI and the evaluation through a real inference server: llama-cpp-python's
OpenAI-compatible server (the ``llama_server`` fixture) serving the default model.

That server answers one choice whatever ``n`` is, serves one request at a time, and
ends the stream it serves when another request arrives: the engine must find all of
that out by itself. It sorts the whole vocabulary in Python for every token's
log-prob (about a second a token here), so these runs are short.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codex_magic.engines.server.engine import ServerEngine
from codex_magic.prompt import stop_index
from codex_magic.types import SamplingParams

pytestmark = pytest.mark.model

ADD = '''def add(a, b):
    """Return the sum of a and b.

    >>> add(2, 3)
    5
    """'''


def cli(*args: object, stdin: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codex_magic.frontends.cli", *map(str, args)],
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def test_same_seed_same_candidates_whichever_way_they_were_asked(llama_server):
    engine = ServerEngine(llama_server)
    assert engine.name == "gemma-3-270m-q4_k_m.gguf"
    params = SamplingParams(n=2, temperature=0.8, top_p=0.95, max_tokens=4, seed=11)
    first = engine.sample(ADD + "\n", params, stop=stop_index)
    # It learnt that the server answers one choice for n=2, and asked for the other alone.
    assert engine.batches_n is False and engine.stats.extra["requests"] >= 2
    again = engine.sample(ADD + "\n", params, stop=stop_index)
    # This time both at once: the server cut one short when the other arrived, and the
    # engine asked for it again, one request at a time from then on.
    assert engine.stats.extra["requests"] == 2 or engine.slots.limit == 1
    # llama-cpp-python's server seeds each request: the same seed, the same candidates.
    assert again == first and [s.seed for s in first] == [11, 12]
    for s in first:
        assert s.token_logprobs and all(lp <= 0 for lp in s.token_logprobs)
        assert s.finish_reason in ("stop", "length")


def test_solve_json_through_the_server(llama_server):
    out = cli("solve", "-", "--server", llama_server, "-n", "2", "--max-tokens", "6",
              "--seed", "3", "--json", stdin=ADD + "\n")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["n_samples"] == 2 and data["n_doctests"] == 1 and data["notes"] == []
    assert data["model"] == "gemma-3-270m-q4_k_m.gguf"
    assert sum(c["count"] for c in data["candidates"]) == 2
    for c in data["candidates"]:
        assert c["code"].startswith("def add(a, b):") and c["total"] == 1
        assert isinstance(c["mean_logprob"], float) and c["passed"] in (0, 1)


def test_codex_magic_in_a_kernel_through_the_server(kernel, llama_server):
    out = kernel.run(f"%%codex --server {llama_server} -n 2 --max-tokens 8 --seed 1\n{ADD}",
                     timeout=180)
    assert out.status == "ok", out.text
    bundle = out.data[-1]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "samples pass the doctest" in bundle["text/plain"]
    assert "gemma-3-270m-q4_k_m.gguf" in bundle["text/plain"]
    res = kernel.run("import json; print(json.dumps({'n': _codex.n_samples, 'best': "
                     "_codex.best.code, 'lp': _codex.best.mean_logprob, 'notes': _codex.notes}))")
    data = json.loads(res.stdout)
    assert data["n"] == 2 and data["best"].startswith("def add(a, b):")
    assert data["lp"] < 0 and data["notes"] == []
    # %config makes it the kernel's default.
    config = kernel.run(f"%config CodexMagics.server = {llama_server!r}\n")
    assert config.status == "ok", config.text
    try:
        out = kernel.run(f"%%codex -n 1 --max-tokens 4 --seed 2\n{ADD}", timeout=120)
        assert out.status == "ok", out.text
        assert "gemma-3-270m-q4_k_m.gguf" in out.data[-1]["text/plain"]
    finally:
        kernel.run("%config CodexMagics.server = None")


INTERRUPT_AT_FIRST_TOKEN = '''
import os as _os, signal as _signal, time as _time
import codex_magic.runtime.interrupts as _ci
_fired, _ended = [], []
def _arm(name):
    if name == "server-stream" and not _fired:
        _fired.append(_time.monotonic())
        _os.kill(_os.getpid(), _signal.SIGINT)
_ci.hook = _arm
get_ipython().events.register("post_run_cell", lambda _r: _ended.append(_time.monotonic()))
'''

LEFT_BEHIND = '''
import json as _json, threading as _threading, psutil as _ps
_ci.hook = None
print(_json.dumps({
    "took": _ended[0] - _fired[0] if _fired and _ended else None,
    "threads": [t.name for t in _threading.enumerate() if t.name.startswith("codex-server")],
    "sockets": [c.raddr.port for c in _ps.Process().net_connections("tcp")
                if c.raddr and c.status == "ESTABLISHED" and c.raddr.port == PORT],
}))
'''


def test_kernel_interrupt_closes_the_requests(kernel, llama_server):
    port = int(llama_server.split(":")[2].split("/")[0])
    assert kernel.run(INTERRUPT_AT_FIRST_TOKEN).status == "ok"
    out = kernel.run(f"%%codex --server {llama_server} -n 3 --max-tokens 400 --seed 4\n{ADD}",
                     timeout=120)
    report = json.loads(kernel.run(LEFT_BEHIND.replace("PORT", str(port))).stdout)
    assert "UsageError: codex: interrupted" in out.stderr, out.text
    assert report["took"] is not None and report["took"] < 2.0, report
    assert report["threads"] == [] and report["sockets"] == [], report
    # The server let go of the abandoned request: the next run is served at once.
    again = kernel.run(f"%%codex --server {llama_server} -n 1 --max-tokens 4 --seed 5\n{ADD}",
                       timeout=60)
    assert again.status == "ok", again.text


def test_eval_three_problems_through_the_server(llama_server, tmp_path):
    args = ("eval", "humaneval", "--server", llama_server, "--limit", "3", "-n", "1",
            "-t", "0.8", "-k", "1", "--max-tokens", "6", "--concurrency", "2",
            "--out", tmp_path, "--no-plots")
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["n_problems"] == 3 and results["model"] == "gemma-3-270m-q4_k_m.gguf"
    assert results["settings"]["server"] == llama_server
    rows = [json.loads(line) for line in (tmp_path / "samples_t0.8.jsonl").open()]
    assert sorted(r["task_id"] for r in rows) == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert all(isinstance(r["mean_logprob"], float) for r in rows)
    # Resumed: nothing left to sample, the same results.
    again = cli(*args, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "results.json").read_text())["pass_at_k"] == \
        results["pass_at_k"]
    assert len((tmp_path / "samples_t0.8.jsonl").read_text().splitlines()) == 3
