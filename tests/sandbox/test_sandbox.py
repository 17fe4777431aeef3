"""Hostile candidates through the real sandbox, in every mode this kernel offers: real
subprocesses, real limits, real host sockets, keys and bystanders to reach for."""

import os
import tempfile
import time
from pathlib import Path

import pytest

from codex_magic.prompt import build_program, parse_cell
from codex_magic.sandbox import run_candidates, run_doctests, run_tests
from codex_magic.sandbox.confine import landlock
from codex_magic.sandbox.limits import Limits
from tests.sandbox_corpus import ORIGINAL, SPAWN, corpus
from tests.sandbox_host import (
    KEY_PAYLOAD,
    MARK,
    Host,
    forks_allowed,
    procs_with,
    rss_bytes,
)

TASK = parse_cell('''def f(x):
    """Double x.

    >>> f(1)
    2
    >>> f(21)
    42
    """
''')
TIMEOUT = 1.5
_procs_with = procs_with  # the names tests/test_hostile_magic.py uses
# The original corpus, for the %%codex path (auto mode): (name, body, expect).
HOSTILE = [(n, b, SPAWN[forks_allowed("auto")] if n == "process spawning" else e)
           for n, b, e in ORIGINAL]
CORPUS = corpus()


def program(body: str) -> str:
    return build_program(TASK, body)


@pytest.fixture(scope="module")
def host():
    h = Host()
    yield h
    h.close()


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("CODEX_SECRET", "hunter2")


@pytest.mark.parametrize("kind", CORPUS, ids=[k.name for k in CORPUS])
def test_hostile_candidate_is_contained(kind, mode, host, tmp_path, monkeypatch):
    user_mode = f"{mode}-user" if os.geteuid() else f"{mode}-root"
    if mode == "landlock" and landlock.abi() < 6 and os.geteuid():
        user_mode = "limits-user"  # no signal scoping: kill(-1) reaches the tester's processes
    if mode in kind.unsafe_in or user_mode in kind.unsafe_in:
        pytest.skip(f"{kind.name} is a documented hole of {mode} mode that would end the test run")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the sandbox's dir goes
    rss0 = rss_bytes()
    t0 = time.monotonic()
    v = run_doctests(program(host.fill(kind.body)), TASK.doctests, TIMEOUT)
    took = time.monotonic() - t0
    hole = mode in kind.holes
    try:
        assert took < TIMEOUT + 4.0, f"{kind.name} took {took:.1f} s"
        expect = kind.expected(forks_allowed(mode))
        text = " ".join([v.status, v.detail] + [f.reason + " " + f.got for f in v.failures])
        if hole:
            pass  # docs/security.md: what this mode does not stop
        elif expect == "ok-pass":
            assert v.all_passed, v
        elif expect != "any":
            assert not v.all_passed, v
            assert expect == "fail" or any(e in text for e in expect.split("|")), (kind.name, v)
        assert KEY_PAYLOAD.decode() not in text and "hunter2" not in text
        assert rss_bytes() - rss0 < 64 << 20  # the parent reads under caps
        assert list(tmp_path.iterdir()) == []  # the work directory was removed
        if not hole:
            assert host.left_behind() == []
            assert host.hits == [], host.hits  # no host socket answered
            assert host.bystander_alive()
        assert Path("/etc/hostname").exists()
    finally:
        if hole:
            host.clean()


def test_secret_never_reaches_the_candidate():
    v = run_doctests(program("    import os\n    print(os.environ.get('CODEX_SECRET'))\n"
                             "    return x * 2\n"), TASK.doctests, TIMEOUT)
    assert all("hunter2" not in f.got for f in v.failures)
    assert v.failures and "None" in v.failures[0].got


def test_expected_outputs_are_not_in_the_candidates_process():
    body = ("    import gc, sys\n"
            "    texts = [o for o in gc.get_objects() if isinstance(o, str)]\n"
            "    try:\n"
            "        mine = open(sys.argv[0]).read()\n"
            "    except OSError:  # covered (a checkout under /tmp or /home)\n"
            "        mine = ''\n"
            "    return any('42' in t for t in texts) or '42' in mine\n")
    v = run_doctests(program(body), TASK.doctests, TIMEOUT)
    assert [f.got for f in v.failures] == ["False\n", "False\n"]


def test_passing_and_expected_exceptions():
    task = parse_cell('''def g(x):
    """
    >>> g(1)
    1
    >>> g(-1)
    Traceback (most recent call last):
      ...
    ValueError: negative
    >>> print(g(2))  # doctest: +ELLIPSIS
    2...
    """
''')
    body = "    if x < 0:\n        raise ValueError('negative')\n    return x\n"
    v = run_doctests(build_program(task, body), task.doctests, TIMEOUT)
    assert (v.passed, v.total, v.status) == (3, 3, "ok")
    wrong = "    if x < 0:\n        raise TypeError('negative')\n    return x + 1\n"
    v = run_doctests(build_program(task, wrong), task.doctests, TIMEOUT)
    assert v.passed == 0 and v.total == 3
    assert v.failures[0].reason == "wrong output" and v.failures[0].got == "2\n"
    assert "TypeError" in v.failures[1].reason


def test_run_tests_for_check_functions():
    ok = run_tests("def f(x):\n    return 2 * x\n", "assert f(2) == 4\nassert f(0) == 0\n", 2)
    bad = run_tests("def f(x):\n    return x\n", "assert f(2) == 4\n", 2)
    assert ok.all_passed and not bad.all_passed


def test_candidates_run_in_parallel_and_fast():
    programs = [program(f"    return x * 2 + {i % 2}\n") for i in range(10)]
    t0 = time.monotonic()
    verdicts = run_candidates(programs, TASK.doctests, TIMEOUT)
    took = time.monotonic() - t0
    assert [v.all_passed for v in verdicts] == [i % 2 == 0 for i in range(10)]
    assert took < 10  # a loose bound: the benchmark measures it properly


def test_memory_limit_is_configurable():
    body = "    a = bytearray(300 * 2**20)\n    return x * 2\n"
    assert run_doctests(program(body), TASK.doctests, TIMEOUT).all_passed
    small = Limits(memory_bytes=200 * 2**20)
    v = run_doctests(program(body), TASK.doctests, TIMEOUT, small)
    assert not v.all_passed and "memory" in v.failures[0].reason


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists()
                    or not Path("/usr/bin/python3").exists(),
                    reason="needs root to start a process as an unprivileged user")
def test_unprivileged_user_path():
    """A laptop user is not root: the sandbox then uses a user namespace instead of a uid."""
    import shutil
    import subprocess
    import tempfile

    where = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own tmp is private to root
    try:
        _run_unprivileged(where, subprocess)
    finally:
        shutil.rmtree(where)


def _run_unprivileged(tmp_path, subprocess):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from codex_magic.sandbox import run_doctests\n"
        "from codex_magic.prompt import parse_cell, build_program\n"
        "t = parse_cell('def f(x):\\n    \"\"\"D.\\n\\n    >>> f(1)\\n    2\\n    \"\"\"\\n')\n"
        "bodies = ['    return x * 2\\n', f\"    open('/tmp/{sys.argv[1]}', 'w')\\n\",\n"
        "          '    import os\\n    while True:\\n        os.fork()\\n']\n"
        "for b in bodies:\n"
        "    v = run_doctests(build_program(t, b), t.doctests, 2)\n"
        "    print(v.passed, v.status, [f.reason for f in v.failures])\n"
    )
    script.chmod(0o644)
    tmp_path.chmod(0o755)
    out = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp",
         "/usr/bin/python3", str(script), MARK], capture_output=True, text=True, timeout=60)
    lines = out.stdout.splitlines()
    assert len(lines) == 3, out.stderr
    assert lines[0].startswith("1 ok")
    assert lines[1].startswith("0 ") and "Read-only file system" in lines[1]
    assert lines[2].startswith("0 ")
    assert not (Path("/tmp") / MARK).exists()
    assert _procs_with(MARK) == []
