"""The confinement itself, in every mode: what the candidate's process sees of seccomp,
Landlock, its keyring and cgroup; one memory limit for the whole candidate (hole 6); the
mode policy, "strict" and the once-per-process notice on a kernel without Landlock."""

import ast
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from codex_magic import sandbox
from codex_magic.prompt import build_program, parse_cell
from codex_magic.sandbox import run_doctests
from codex_magic.sandbox.confine import cgroup, seccomp
from codex_magic.sandbox.confine import syscalls as kernel
from codex_magic.sandbox.limits import Limits
from codex_magic.types import CodexError
from tests.sandbox_host import KEY_PAYLOAD, Host, forks_allowed, mode_skip_reason

TASK = parse_cell('def f(x):\n    """D.\n\n    >>> f(1)\n    2\n    """\n')
TIMEOUT = 3.0
ROOT = Path(__file__).resolve().parents[2]


def got(body: str, limits: Limits | None = None) -> str:
    v = run_doctests(build_program(TASK, body), TASK.doctests, TIMEOUT, limits)
    assert v.failures, v
    return v.failures[0].got + v.failures[0].reason


def test_what_the_candidate_process_carries(mode):
    status = got("    print(open('/proc/self/status').read())\n")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    filtered = mode != "limits"
    assert fields["Seccomp"].strip() == ("2" if filtered else "0")
    assert fields["NoNewPrivs"].strip() == "1"
    assert int(fields["CapEff"].strip(), 16) == 0  # no capability, root or not
    if os.geteuid() == 0:
        assert fields["Uid"].split()[0] != "0" or mode == "landlock"


@pytest.fixture(scope="module")
def host():
    h = Host()
    yield h
    h.close()


def test_the_candidate_has_a_fresh_session_keyring(mode, host):
    """Hole 3: the user's session keyring, readable before, is out of reach."""
    if not host.has_key:
        pytest.skip("no keyring here (keyctl refused to the tests)")
    assert host.key in Path("/proc/keys").read_text()  # the test process sees its key
    # The key may be listed (a process of the same uid may view it), not found or read.
    keys = got("    import ctypes\n    libc = ctypes.CDLL(None, use_errno=True)\n"
               f"    k = libc.syscall({kernel.NUMBERS['keyctl']}, 10, -3, b'user', "
               f"b'{host.key}', 0)\n    print(k, ctypes.get_errno())\n"
               "    print(open('/proc/keys').read())\n")
    assert keys.startswith("-1 ") and KEY_PAYLOAD.decode() not in keys


def test_host_directories_are_covered(monkeypatch, tmp_path):
    """Namespaces mode: where host sockets and homes live, the candidate finds empty
    directories (the work directory's own path aside), whatever seccomp would also stop."""
    reason = mode_skip_reason("namespaces")
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("CODEX_MAGIC_SANDBOX", "namespaces")
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (Path("/tmp") / f"codex-visible-{os.getpid()}").mkdir(exist_ok=True)
    try:
        seen = got("    import os\n    for d in ('/run', '/var/run', '/tmp', '/var/tmp', "
                   "'/home'):\n        print(d, sorted(os.listdir(d)) if os.path.isdir(d) "
                   "else None)\n")
    finally:
        (Path("/tmp") / f"codex-visible-{os.getpid()}").rmdir()
    lines = dict(line.split(" ", 1) for line in seen.splitlines()[:5])
    for d, listed in lines.items():
        real = os.path.realpath(d)
        # Only the way to the work directory and to this Python's own files is put back.
        allowed = {Path(os.path.realpath(p)).relative_to(real).parts[0]
                   for p in (sys.prefix, sys.base_prefix, tmp_path)
                   if os.path.realpath(p).startswith(real + "/")}
        assert listed == "None" or set(ast.literal_eval(listed)) <= allowed, (d, listed)


def test_limits_come_from_the_parent(mode):
    out = got("    print('y' * 50)\n    return 0\n", Limits(output_chars=10))
    assert out.startswith("yyyyyyyyyy\n... [43 more characters cut]")
    out = got("    fs = [open('/dev/null') for _ in range(40)]\n    return 0\n",
              Limits(open_files=16))
    assert "Too many open files" in out


def test_one_memory_limit_for_a_forking_candidate(mode):
    """Hole 6: four children of 200 MB each under a 512 MB limit. With a cgroup the
    whole candidate is held to it; without one, candidate code may not fork at all (so
    RLIMIT_AS, per process, is the whole candidate's limit)."""
    body = ("    import os, time\n    for _ in range(4):\n        if os.fork() == 0:\n"
            "            b = bytearray(200 << 20)\n            time.sleep(2)\n"
            "            os._exit(0)\n    time.sleep(1.5)\n    return x * 2\n")
    peak = PeakTree()
    with peak:
        v = run_doctests(build_program(TASK, body), TASK.doctests, TIMEOUT,
                         Limits(memory_bytes=512 << 20))
    print(f"{mode}: forking candidate, peak memory of all its processes "
          f"{peak.peak / 2**20:.0f} MiB ({v.status}, {[f.reason for f in v.failures]})")
    if mode == "limits" and not cgroup.available():
        pytest.skip("limits mode without a cgroup: per-process limits only (documented)")
    assert peak.peak < (512 + 64) << 20
    if not forks_allowed(mode):
        assert "Operation not permitted" in v.failures[0].got + v.failures[0].reason


def test_memfd_pages_count(mode):
    body = ("    import os\n    fds = []\n    for _ in range(40):\n"
            "        fd = os.memfd_create('m')\n        for _ in range(15):\n"
            "            os.write(fd, b'm' * (1 << 20))\n        fds.append(fd)\n"
            "    return x * 2\n")
    peak = PeakTree()
    with peak:
        v = run_doctests(build_program(TASK, body), TASK.doctests, TIMEOUT,
                         Limits(memory_bytes=256 << 20))
    if mode == "limits" and not cgroup.available():
        pytest.skip("limits mode without a cgroup: memfd is outside RLIMIT_AS (documented)")
    assert not v.all_passed
    reason = v.failures[0].reason + v.failures[0].got
    assert "memory" in reason or "Operation not permitted" in reason, v


def test_no_cgroup_is_left_behind():
    before = _sandbox_groups()
    run_doctests(build_program(TASK, "    return x * 2\n"), TASK.doctests, TIMEOUT)
    assert _sandbox_groups() <= before


def _sandbox_groups() -> set[str]:
    found = set()
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        found |= {os.path.join(root, d) for d in dirs
                  if d.startswith(f"codex-sandbox-{os.getpid()}-")}
        if root.count(os.sep) > 6:
            dirs.clear()
    return found


def test_seccomp_filter_checks_the_architecture_first():
    prog = seccomp.build(forks=False)
    assert prog[0] == (0x20, 0, 0, 4)  # load seccomp_data.arch
    assert prog[2] == (0x06, 0, 0, 0x80000000)  # another ABI: kill the process
    assert len(prog) < 512
    assert len(seccomp.build(forks=True)) < len(prog)


class PeakTree:
    """The summed RSS of all sandbox processes of this test, sampled every 5 ms."""

    def __enter__(self):
        self.peak, self._stop = 0, False
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        from tests.sandbox_host import sandbox_processes

        while not self._stop:
            total = 0
            for pid in sandbox_processes():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        total += sum(int(line.split()[1]) * 1024 for line in f
                                     if line.startswith(("RssAnon:", "RssShmem:")))
                except OSError:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()


# A kernel without Landlock and namespaces, made on this one: a seccomp filter on the test's
# child answers ENOSYS to landlock_create_ruleset and EPERM to unshare (every process below
# inherits it), so the sandbox finds neither.
OLD_KERNEL = """
import ctypes, errno, os, struct, sys
sys.path.insert(0, {root!r})
from codex_magic.sandbox.confine import syscalls as kernel
from codex_magic.sandbox.confine.seccomp import _SockFprog
nr = kernel.NUMBERS
ins = [(0x20, 0, 0, 4), (0x15, 1, 0, kernel.AUDIT_ARCH[kernel.ARCH]), (0x06, 0, 0, 0x80000000),
       (0x20, 0, 0, 0),
       (0x15, 0, 1, nr["landlock_create_ruleset"]), (0x06, 0, 0, 0x50000 | errno.ENOSYS),
       (0x15, 0, 1, nr["unshare"]), (0x06, 0, 0, 0x50000 | errno.EPERM),
       (0x06, 0, 0, 0x7FFF0000)]
raw = b"".join(struct.pack("=HBBI", *i) for i in ins)
buf = ctypes.create_string_buffer(raw, len(raw))
kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
kernel.syscall("seccomp", ctypes.c_ulong(1), ctypes.c_ulong(0),
               ctypes.byref(_SockFprog(len(ins), ctypes.cast(buf, ctypes.c_void_p))))
os.execv(sys.executable, [sys.executable, "-c", {inner!r}])
"""
INNER = """
import json, os, sys
sys.path.insert(0, {root!r})
from codex_magic import sandbox
from codex_magic.prompt import build_program, parse_cell
from codex_magic.types import CodexError
task = parse_cell('def f(x):\\n    \"\"\"D.\\n\\n    >>> f(1)\\n    2\\n    \"\"\"\\n')
out = {{}}
for policy in sandbox.POLICIES:
    sandbox.configure(policy)
    out[policy] = sandbox.describe()["mode"]
    try:
        v = sandbox.run_doctests(build_program(task, "    return x * 2\\n"), task.doctests, 5)
        out[policy + " run"] = [v.passed, v.status]
    except CodexError as e:
        out[policy + " run"] = "refused: " + str(e)
sandbox.configure("auto")
out["notices"] = [sandbox.mode_notice(), sandbox.mode_notice()]
print(json.dumps(out))
"""


def test_a_kernel_without_landlock_or_namespaces():
    inner = INNER.format(root=str(ROOT))
    code = OLD_KERNEL.format(root=str(ROOT), inner=inner)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={k: v for k, v in os.environ.items()
                                           if k != "CODEX_MAGIC_SANDBOX"})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["auto"] == "limits" and result["limits"] == "limits"
    assert result["strict"] is None and result["namespaces"] is None
    assert result["landlock"] is None
    for policy in ("strict", "namespaces", "landlock"):
        assert result[policy + " run"].startswith("refused: the sandbox policy is"), result
    assert result["auto run"][1] == "ok" and result["limits run"][1] == "ok"
    first, second = result["notices"]
    assert first.startswith("note: candidates run with limits only (") and second is None


def test_mode_notice_is_silent_where_the_sandbox_is_strong(monkeypatch):
    monkeypatch.setattr(sandbox.runner, "_noticed", False)
    monkeypatch.delenv("CODEX_MAGIC_SANDBOX", raising=False)
    if sandbox.describe()["mode"] == "limits":
        pytest.skip("this machine gives limits only")
    assert sandbox.mode_notice() is None


def test_policy_names_are_checked(monkeypatch):
    with pytest.raises(CodexError, match="one of auto, strict"):
        sandbox.configure("loose")
    monkeypatch.setenv("CODEX_MAGIC_SANDBOX", "bogus")
    with pytest.raises(CodexError, match="CODEX_MAGIC_SANDBOX"):
        run_doctests(build_program(TASK, "    return x * 2\n"), TASK.doctests, TIMEOUT)
