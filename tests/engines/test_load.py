"""Many runs in one kernel, and running out of memory: nothing grows, nothing hangs."""

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.kernel import Kernel

pytestmark = pytest.mark.model

ADD = 'def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    """'
PROBE = ("import os, json as _j\n"
         "_rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS')]\n"
         "_rss = int(_rss[0].split()[1])\n"
         "print(_j.dumps({'rss_kb': _rss, 'fds': len(os.listdir('/proc/self/fd'))}))")


def _sandbox_dirs() -> int:
    return sum(1 for p in Path(tempfile.gettempdir()).iterdir()
               if p.name.startswith("codex-sandbox-"))


def test_twenty_runs_do_not_grow_memory_fds_or_temp_dirs(default_model):
    k = Kernel()
    try:
        k.run("%load_ext codex_magic")
        cmd = f"%%codex -n 2 --max-tokens 24 --seed {{}}\n{ADD}"
        for i in range(3):  # warm up: model loaded, caches filled
            assert k.run(cmd.format(i)).status == "ok"
        before = json.loads(k.run(PROBE).stdout)
        for i in range(20):
            assert k.run(cmd.format(100 + i)).status == "ok"
        after = json.loads(k.run(PROBE).stdout)
    finally:
        k.close()
    growth_mb = (after["rss_kb"] - before["rss_kb"]) / 1024
    report = {"rss_before_mb": before["rss_kb"] / 1024, "rss_after_mb": after["rss_kb"] / 1024,
              "fds_before": before["fds"], "fds_after": after["fds"]}
    print("20 runs:", report)
    out = Path(os.environ.get("CODEX_MAGIC_ARTIFACTS", "test-artifacts"))
    out.mkdir(exist_ok=True)
    (out / "load_20_runs.json").write_text(json.dumps(report, indent=2))
    assert growth_mb < 25, report
    assert after["fds"] <= before["fds"] + 2, report


def test_no_sandbox_dirs_left_after_runs():
    from codex_magic.prompt import build_program, parse_cell
    from codex_magic.sandbox import run_candidates

    task = parse_cell('def f(x):\n    """D.\n\n    >>> f(1)\n    1\n    """\n')
    before = _sandbox_dirs()
    run_candidates([build_program(task, "    return x\n")] * 4, task.doctests, 2)
    assert _sandbox_dirs() <= before


def _solve_under(limit_mb: int, prompt: Path) -> subprocess.CompletedProcess:
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))

    return subprocess.run([sys.executable, "-m", "codex_magic.frontends.cli", "solve", str(prompt),
                           "-n", "2",
                           "--max-tokens", "8", "--seed", "1"], preexec_fn=limit,
                          capture_output=True, timeout=120)


def test_out_of_memory_is_one_line_at_every_limit(tmp_path, default_model):
    """From far too little memory to enough, each run either works or ends in one line.

    Before the estimate, llama.cpp aborted the process at some limits in between
    (here 475 and 750 MB; 500 MB on a CPU that repacks the weights), which in a
    kernel is a dead kernel. The limits swept cover every phase that allocates.
    """
    prompt = tmp_path / "p.py"
    prompt.write_text(ADD + "\n")
    seen = {}
    for limit_mb in range(300, 1101, 50):
        out = _solve_under(limit_mb, prompt)
        lines = out.stderr.decode(errors="replace").strip().splitlines()
        seen[limit_mb] = (out.returncode, lines[-1][:120] if lines else "")
        assert out.returncode in (0, 2), (limit_mb, out.returncode, lines[-5:])
        if out.returncode == 2:
            assert len(lines) == 1, (limit_mb, lines[-5:])
            assert "memory" in lines[0] or "could not" in lines[0], (limit_mb, lines[0])
    print(json.dumps(seen, indent=1))
    assert seen[1100][0] == 0, "a generous limit must let the run through"
    refused = [mb for mb, (rc, line) in seen.items() if "not enough memory" in line]
    assert refused and min(refused) == 300, seen
