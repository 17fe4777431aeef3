"""The parent trusts nothing the candidate's process writes (holes 1 and 9 of issue 10):
real children writing on every descriptor they hold, the parent's memory measured."""

import threading
import time

import pytest

from codex_magic.prompt import build_program, parse_cell
from codex_magic.sandbox import run_candidates, run_doctests, run_tests
from tests.sandbox_host import Host, rss_bytes, sandbox_processes

TASK = parse_cell('def f(x):\n    """D.\n\n    >>> f(1)\n    2\n    >>> f(21)\n    42\n    """\n')
TIMEOUT = 3.0
SPRAY = ("    import os\n    for fd in range(3, 1024):\n        try:\n"
         "            os.write(fd, LINE)\n        except OSError:\n            pass\n")


@pytest.fixture(scope="module")
def host():
    h = Host()
    yield h
    h.close()


class PeakRSS:
    """The parent's resident memory, sampled every 2 ms while the block runs."""

    def __enter__(self):
        self.base = self.peak = rss_bytes()
        self._stop = False
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()

    @property
    def growth(self):
        return self.peak - self.base


FLOODS = {
    "valid JSON lines forever": "    LINE = b'{\"kind\": \"example\", \"i\": 0, \"got\": \"\", "
                                "\"exc\": null}\\n' * 2048\n",
    "one endless line": "    LINE = b' ' * 65536\n",
    "unknown messages": "    LINE = b'{\"kind\": \"note\", \"text\": \"xxxxxxxx\"}\\n' * 2048\n",
}


@pytest.mark.parametrize("flood", FLOODS, ids=list(FLOODS))
def test_parent_memory_stays_bounded_under_a_flood(flood, mode):
    body = FLOODS[flood] + "    import os\n    while True:\n" + "\n".join(
        "    " + line for line in SPRAY.splitlines()[1:]) + "\n"
    with PeakRSS() as rss:
        t0 = time.monotonic()
        v = run_doctests(build_program(TASK, body), TASK.doctests, TIMEOUT)
        took = time.monotonic() - t0
    assert v.status == "protocol error" and v.passed == 0, v
    assert rss.growth < 16 << 20, f"parent grew by {rss.growth >> 20} MB"
    assert took < TIMEOUT + 4
    print(f"{mode}: {flood}: parent peak growth {rss.growth / 2**20:.1f} MiB, {took:.2f} s")


def test_fake_pids_kill_nothing_and_bad_messages_cost_one_candidate(mode, host):
    """hello with pid 0, -1, a bystander's, none or text, nested JSON: on every fd."""
    fakes = [b'{"kind": "hello", "pid": 0}', b'{"kind": "hello", "pid": -1}',
             f'{{"kind": "hello", "pid": {host.bystander.pid}}}'.encode(),
             b'{"kind": "hello"}', b'{"kind": "hello", "pid": "x"}', b"[" * 200000]
    bodies = ["    return x * 2\n"]
    for fake in fakes:
        line = fake + b"\n"
        bodies.append(f"    LINE = {line!r}\n" + SPRAY + "    return x * 2\n")
    bodies.append("    return x * 2\n")
    verdicts = run_candidates([build_program(TASK, b) for b in bodies], TASK.doctests, TIMEOUT)
    assert len(verdicts) == len(bodies)
    assert verdicts[0].all_passed and verdicts[-1].all_passed  # honest neighbours unharmed
    for v in verdicts[1:-1]:
        assert v.status == "protocol error" and v.passed == 0, v
    assert host.bystander_alive()
    assert sandbox_processes() == []


def test_forged_hidden_test_results_do_not_pass(mode):
    """Hole 9: the candidate writes the runner's messages itself and exits."""
    test = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 6\n" \
           "\ncheck(f)\n"
    forgeries = [
        # the exec path's messages
        "    LINE = b'{\"kind\": \"example\", \"i\": 0, \"got\": \"\", \"exc\": null}\\n"
        "{\"kind\": \"done\"}\\n'\n",
        # the calls path's messages
        "    LINE = b'{\"kind\": \"value\", \"i\": 0, \"value\": null, \"exc\": null}\\n"
        "{\"kind\": \"value\", \"i\": 1, \"value\": null, \"exc\": null}\\n"
        "{\"kind\": \"done\"}\\n'\n",
    ]
    for forgery in forgeries:
        program = "def f(x):\n" + forgery + SPRAY + "    os._exit(0)\n"
        v = run_tests(program, test, TIMEOUT)
        assert not v.all_passed, v
    always_equal = ("class E:\n    def __eq__(self, other):\n        return True\n\n"
                    "def f(x):\n    return E()\n")
    v = run_tests(always_equal, test, TIMEOUT)
    assert not v.all_passed and "cannot be checked" in v.failures[0].reason, v
    lying_int = ("class I(int):\n    def __eq__(self, other):\n        return True\n\n"
                 "def f(x):\n    return I(0)\n")
    v = run_tests(lying_int, test, TIMEOUT)
    assert not v.all_passed and v.failures[0].got == "0", v
    assert run_tests("def f(x):\n    return 2 * x\n", test, TIMEOUT).all_passed


def test_a_test_that_cannot_be_taken_apart_is_marked(mode):
    test = "def check(candidate):\n    for i in range(3):\n        y = i\n" \
           "        assert candidate(y) == 2 * y\n    import random\n" \
           "    assert candidate(random.randint(1, 5)) > 0\n\ncheck(f)\n"
    forger = "def f(x):\n    LINE = b'{\"kind\": \"example\", \"i\": 0, \"got\": \"\", " \
             "\"exc\": null}\\n{\"kind\": \"done\"}\\n'\n" + SPRAY + "    os._exit(0)\n"
    v = run_tests(forger, test, TIMEOUT)
    assert v.status == "unverifiable", v  # a pass we cannot vouch for, counted apart
    honest = run_tests("def f(x):\n    return 2 * x\n", test, TIMEOUT)
    assert honest.status == "unverifiable" and honest.all_passed
    wrong = run_tests("def f(x):\n    return x\n", test, TIMEOUT)
    assert not wrong.all_passed and wrong.status == "ok"


def test_work_dirs_and_processes_are_gone_after_a_protocol_error(mode, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    body = "    LINE = b'{\"kind\": 1}\\n'\n" + SPRAY + "    import time\n    time.sleep(60)\n"
    v = run_doctests(build_program(TASK, body), TASK.doctests, TIMEOUT)
    assert v.status == "protocol error"
    assert list(tmp_path.iterdir()) == []
    assert sandbox_processes() == []
