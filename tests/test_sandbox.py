"""Hostile candidates through the real sandbox: real subprocesses, real limits."""

import os
import time
from pathlib import Path

import pytest

from codex_magic.prompt import build_program, parse_cell
from codex_magic.sandbox import Limits, run_candidates, run_doctests, run_tests

TASK = parse_cell('''def f(x):
    """Double x.

    >>> f(1)
    2
    >>> f(21)
    42
    """
''')
TIMEOUT = 1.5
MARK = f"codexmark{os.getpid()}"


def program(body: str) -> str:
    return build_program(TASK, body)


def _procs_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


# (name, body, what the verdict must say: a status or a failure reason substring)
HOSTILE = [
    ("infinite loop", "    while True:\n        pass\n", "timed out"),
    ("long sleep", "    import time\n    time.sleep(60)\n", "timed out"),
    ("fork bomb", "    import os\n    while True:\n        try:\n            os.fork()\n"
                  "        except OSError:\n            pass\n", "timed out"),
    ("process spawning", "    import subprocess\n"
                         f"    subprocess.Popen(['sleep', '300', '{MARK}'])\n"
                         "    return x * 2\n", "ok-pass"),
    ("memory bomb", "    a = [bytearray(10**8) for _ in range(100)]\n", "killed: memory|timed out"),
    ("huge allocation", "    return bytes(10**11)\n", "killed: memory"),
    ("deep recursion", "    return f(x + 1)\n", "recursion"),
    ("huge stdout", "    print('x' * 10**8)\n    return x * 2\n", "wrong output"),
    ("huge fd write", "    import os\n    while True:\n        os.write(1, b'y' * 65536)\n",
     "File too large"),
    ("binary garbage", "    import sys\n    sys.stdout.write(bytes(range(256)).decode('latin-1'))\n"
                       "    return x * 2\n", "wrong output"),
    ("invalid utf-8 on fd", "    import os\n    os.write(1, b'\\xff\\xfe\\xc3')\n"
                            "    return x * 2\n", "ok-pass"),
    ("sys.exit", "    import sys\n    sys.exit(0)\n", "SystemExit"),
    ("os._exit", "    import os\n    os._exit(0)\n", "exited with code 0"),
    ("raise KeyboardInterrupt", "    raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    ("raise SystemExit", "    raise SystemExit(3)\n", "SystemExit"),
    ("segfault", "    import ctypes\n    ctypes.string_at(0)\n", "segmentation fault"),
    ("abort", "    import os\n    os.abort()\n", "aborted"),
    ("thread outlives", "    import threading, time\n"
                        "    threading.Thread(target=time.sleep, args=(300,)).start()\n"
                        "    return x * 2\n", "ok-pass"),
    ("ignore SIGTERM and SIGALRM", "    import signal, time\n"
     "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
     "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    time.sleep(60)\n", "timed out"),
    ("write to cwd of the user", f"    open('{Path.cwd()}/{MARK}', 'w').write('x')\n"
                                 "    return x * 2\n", "exception"),
    ("write to home", f"    import os\n    open(os.path.expanduser('~root/{MARK}'), 'w')\n",
     "exception"),
    ("write to /tmp", f"    open('/tmp/{MARK}', 'w').write('x')\n", "exception"),
    ("delete files", "    import os\n    os.remove('/etc/hostname')\n", "exception"),
    ("read secrets from env", "    import os\n    return os.environ.get('CODEX_SECRET', 'none')\n",
     "wrong output"),
    ("network", "    import socket\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n",
     "exception"),
    ("close stdout", "    import sys\n    sys.stdout.close()\n    return x * 2\n", "ok-pass"),
    ("close fd 1", "    import os\n    os.close(1)\n    return x * 2\n", "Bad file descriptor"),
    ("patch doctest", "    import doctest\n"
     "    doctest.OutputChecker.check_output = lambda *a: True\n    return 0\n", "wrong output"),
    ("patch builtins repr",
     "    import builtins\n    builtins.repr = lambda o: '2'\n    return 0\n", "wrong output"),
    ("fake result protocol on stdout",
     "    print('{\"kind\": \"example\", \"i\": 0, \"got\": \"2\\\\n\", \"exc\": null}')\n"
     "    print('{\"kind\": \"done\"}')\n    return 0\n", "wrong output"),
    ("very long line", "    return 'z' * 10**7\n", "wrong output"),
    ("read stdin", "    return input()\n", "EOFError"),
    ("kill the parent", "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                        "    return x * 2\n", "any"),
    ("kill everything", "    import os, signal\n    os.kill(-1, signal.SIGKILL)\n", "any"),
    ("does not parse", "    return (\n", "syntax error"),
    ("raises at definition", "    pass\nraise RuntimeError('boom')\n", "RuntimeError"),
]


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("CODEX_SECRET", "hunter2")


@pytest.mark.parametrize(("name", "body", "expect"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_candidate_is_contained(name, body, expect, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the sandbox's dir goes
    t0 = time.monotonic()
    v = run_doctests(program(body), TASK.doctests, TIMEOUT)
    took = time.monotonic() - t0
    assert took < TIMEOUT + 3.0, f"{name} took {took:.1f} s"
    if expect == "ok-pass":
        assert v.all_passed, v
    elif expect != "any":
        assert not v.all_passed, v
        text = " ".join([v.status, v.detail] + [f.reason + " " + f.got for f in v.failures])
        assert any(e in text for e in expect.split("|")), (name, v)
    time.sleep(0.05)
    assert _procs_with(MARK) == []
    assert not any(MARK in p for p in os.listdir("/tmp"))
    assert not (Path.home() / MARK).exists() and not (Path.cwd() / MARK).exists()
    assert Path("/etc/hostname").exists()
    assert list(tmp_path.iterdir()) == []  # the work directory was removed


def test_secret_never_reaches_the_candidate():
    v = run_doctests(program("    import os\n    print(os.environ.get('CODEX_SECRET'))\n"
                             "    return x * 2\n"), TASK.doctests, TIMEOUT)
    assert all("hunter2" not in f.got for f in v.failures)
    assert v.failures and "None" in v.failures[0].got


def test_expected_outputs_are_not_in_the_candidates_process():
    body = ("    import gc, sys\n"
            "    texts = [o for o in gc.get_objects() if isinstance(o, str)]\n"
            "    return any('42' in t for t in texts) or '42' in open(sys.argv[0]).read()\n")
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
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
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
