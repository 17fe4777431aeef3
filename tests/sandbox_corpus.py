"""The hostile corpus: candidate bodies for ``f(x)`` (which should return ``2 * x``).

Each kind says what the verdict must show where the mode contains it (``expect``: a
status or reason substring, "ok-pass", "fail" or "any"; a dict when it depends on
whether candidate code may start processes), and the modes where it is a documented
hole (``holes``: docs/security.md lists them; the test then checks only the verdict,
time and clean-up). ``@NAME@`` placeholders are filled by ``sandbox_host.Host.fill``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from codex_magic.sandbox.confine import syscalls as kernel
from tests.sandbox_host import MARK


@dataclass(frozen=True)
class Kind:
    name: str
    body: str
    expect: str | dict[bool, str]
    holes: frozenset[str] = field(default_factory=frozenset)
    unsafe_in: frozenset[str] = field(default_factory=frozenset)  # not run: it would hit pytest
    arch: str | None = None

    def expected(self, forks: bool) -> str:
        return self.expect[forks] if isinstance(self.expect, dict) else self.expect


LIMITS = frozenset({"limits"})
SPAWN = {True: "ok-pass", False: "exception"}

# The 36 kinds the sandbox has been tested with since the start, as (name, body, expect).
ORIGINAL = [
    ("infinite loop", "    while True:\n        pass\n", "timed out"),
    ("long sleep", "    import time\n    time.sleep(60)\n", "timed out"),
    ("fork bomb", "    import os\n    while True:\n        try:\n            os.fork()\n"
                  "        except OSError:\n            pass\n", "timed out"),
    ("process spawning", "    import subprocess, sys\n"
                         "    subprocess.Popen([sys.executable, '-c', 'import time; "
                         f"time.sleep(300)', '{MARK}'])\n"
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
_ORIGINAL_EXTRA: dict[str, dict] = {
    "process spawning": {"expect": SPAWN},
    "write to /tmp": {"holes": LIMITS},
    "kill everything": {"unsafe_in": frozenset({"limits-user"})},  # kill(-1) as the tester
}

_CTYPES = "    import ctypes, os\n    libc = ctypes.CDLL(None, use_errno=True)\n"
_RAISE = "    if r < 0:\n        raise OSError(ctypes.get_errno(), 'refused')\n"
_DAEMON = ("    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
           "            import sys\n            os.execv(sys.executable, [sys.executable, "
           f"'-c', 'import time; time.sleep(300)', '{MARK}'])\n"
           "        os._exit(0)\n")
_SPRAY = ("    import os\n    for fd in range(3, 1024):\n        try:\n"
          "            os.write(fd, LINE)\n        except OSError:\n            pass\n")


def _unix(path: str) -> str:
    return ("    import socket\n    s = socket.socket(socket.AF_UNIX)\n"
            f"    s.connect({path!r})\n    s.sendall(b'{MARK}')\n    return s.recv(20)\n")


NEW = [
    # 2. host sockets, by every route
    Kind("unix socket by path", _unix("@SOCK_SHM@"), "exception", LIMITS),
    Kind("unix socket under /tmp", _unix("@SOCK_TMP@"), "exception", LIMITS),
    Kind("abstract unix socket", _unix("\0@ABSTRACT@"), "exception", LIMITS),
    Kind("tcp to a loopback server", "    import socket\n    s = socket.create_connection("
         "('127.0.0.1', @PORT@), timeout=1)\n    return s.recv(20)\n", "exception", LIMITS),
    Kind("udp to a loopback server", "    import socket\n    socket.socket(socket.AF_INET, "
         "socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', @UDP_PORT@))\n    return x * 2\n",
         "exception", LIMITS),
    Kind("netlink socket", "    import socket\n    socket.socket(socket.AF_NETLINK, "
         "socket.SOCK_RAW, 0)\n    return x * 2\n", "exception", LIMITS),
    Kind("io_uring", _CTYPES + "    params = ctypes.create_string_buffer(120)\n"
         "    r = libc.syscall(@NR_io_uring_setup@, 4, params)\n" + _RAISE
         + "    return x * 2\n", "exception", LIMITS),
    Kind("socketpair still works", "    import socket\n    a, b = socket.socketpair()\n"
         "    a.sendall(b'2')\n    return int(b.recv(1)) * x\n", "ok-pass"),
    # 3. keyrings
    Kind("read the user's keys", _CTYPES + "    found = []\n    for ring in (-3, -4, -5):\n"
         "        k = libc.syscall(@NR_keyctl@, 10, ring, b'user', b'@KEY@', 0)\n"
         "        if k > 0:\n            buf = ctypes.create_string_buffer(64)\n"
         "            n = libc.syscall(@NR_keyctl@, 11, k, buf, 64)\n"
         "            found.append(buf.raw[:max(n, 0)])\n"
         "    k = libc.syscall(@NR_request_key@, b'user', b'@KEY@', None, 0)\n"
         "    return found, k\n", "wrong output", LIMITS),
    # 6. memory of the whole candidate
    Kind("memfd bomb", "    import os\n    fd = os.memfd_create('m')\n"
         "    for i in range(1600):\n        os.write(fd, b'm' * (1 << 20))\n    return x * 2\n",
         "fail", LIMITS),
    Kind("forking memory bomb", "    import os, time\n    for _ in range(4):\n"
         "        if os.fork() == 0:\n            b = bytearray(400 << 20)\n"
         "            time.sleep(30)\n            os._exit(0)\n    time.sleep(0.2)\n"
         "    return x * 2\n", {True: "any", False: "exception"}, LIMITS),
    # 8. processes and signals outside the candidate
    Kind("double-forked setsid daemon", "    import os\n" + _DAEMON + "    return x * 2\n",
         SPAWN),
    Kind("daemon after killing its supervisor", "    import os, signal\n" + _DAEMON
         + "    try:\n        os.kill(os.getppid(), signal.SIGKILL)\n    except OSError:\n"
         "        pass\n    return x * 2\n", "any", LIMITS),
    Kind("kill a bystander process", "    import os\n    os.kill(@BYSTANDER@, 9)\n"
         "    return x * 2\n", "exception", LIMITS),
    Kind("clear the parent-death signal", _CTYPES + "    r = libc.prctl(1, 0, 0, 0, 0)\n"
         + _RAISE + "    return x * 2\n", "exception", LIMITS),
    Kind("ptrace the supervisor", _CTYPES + "    r = libc.ptrace(16, os.getppid(), 0, 0)\n"
         + _RAISE + "    return x * 2\n", "exception", LIMITS),
    Kind("read the caller's environment", "    import os\n    pid, found = os.getpid(), []\n"
         "    for _ in range(6):\n        try:\n            with open(f'/proc/{pid}/stat') as s:\n"
         "                pid = int(s.read().rsplit(')', 1)[1].split()[1])\n"
         "            with open(f'/proc/{pid}/environ', 'rb') as e:\n"
         "                found.append(b'hunter2' in e.read())\n"
         "        except (OSError, ValueError, IndexError):\n            found.append(None)\n"
         "    return found\n", "wrong output", LIMITS),
    Kind("new user namespace", _CTYPES + "    r = libc.unshare(0x10000000)\n" + _RAISE
         + "    return x * 2\n", "exception", LIMITS),
    Kind("remount / writable", _CTYPES + "    r = libc.mount(None, b'/', None, 32 | 4096, None)\n"
         + _RAISE + f"    open('@CWD@/{MARK}', 'w')\n    return x * 2\n", "exception"),
    Kind("System V shared memory", _CTYPES + "    r = libc.shmget(@SHM_KEY@, 1 << 20, 0o1600)\n"
         + _RAISE + "    return x * 2\n", "exception", LIMITS),
    Kind("i386 system call (int 0x80)", "    import ctypes, mmap\n"
         "    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
         "    m.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))\n"
         "    ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))()\n"
         "    return x * 2\n", "crashed", LIMITS, arch="x86_64"),
    Kind("x32 system call", _CTYPES + "    libc.syscall(0x40000000 | 39)\n    return x * 2\n",
         "crashed", LIMITS, arch="x86_64"),
    # 8. files outside the work directory
    Kind("write to /var/tmp", f"    open('/var/tmp/{MARK}', 'w').write('x')\n    return x * 2\n",
         "exception", LIMITS),
    Kind("write to /dev/shm", f"    open('/dev/shm/{MARK}', 'w').write('x')\n    return x * 2\n",
         "exception", LIMITS),
    Kind("symlink out of the work directory", f"    import os\n    os.symlink('/tmp/{MARK}', "
         "'link')\n    open('link', 'w').write('x')\n    return x * 2\n", "exception", LIMITS),
    Kind("swap the output log for a symlink", "    import os\n    try:\n"
         "        os.remove('.output')\n    except OSError:\n        pass\n"
         "    os.symlink('@SECRET_FILE@', '.output')\n    os._exit(3)\n", "fail"),
    Kind("fill the disk", "    i = 0\n    while True:\n        with open(f'fill{i}', 'wb') as f:\n"
         "            f.write(b'x' * (8 << 20))\n        i += 1\n",
         "No space left|killed: disk|timed out"),
    Kind("tempfile works (work directory is the candidate's)", "    import tempfile\n"
         "    with tempfile.NamedTemporaryFile() as t:\n        t.write(b'2')\n        t.flush()\n"
         "        return int(open(t.name).read()) * x\n", "ok-pass"),
    # 1. the result channel: written on every descriptor, not ours alone
    Kind("spray every fd with fake hello and results", "    LINE = b''.join([\n"
         "        b'{\"kind\": \"hello\", \"pid\": 0}\\n',\n"
         "        b'{\"kind\": \"hello\", \"pid\": -1}\\n',\n"
         "        b'{\"kind\": \"hello\", \"pid\": @BYSTANDER@}\\n', b'{\"kind\": \"hello\"}\\n',\n"
         "        b'{\"kind\": \"hello\", \"pid\": \"x\"}\\n',\n"
         "        b'{\"kind\": \"example\", \"i\": 0, \"got\": \"2\\\\n\", \"exc\": null}\\n',\n"
         "        b'{\"kind\": \"done\"}\\n'])\n" + _SPRAY + "    os._exit(0)\n",
         "protocol error"),
    Kind("deeply nested JSON on every fd", "    LINE = b'[' * 200000 + b'\\n'\n" + _SPRAY
         + "    return x * 2\n", "protocol error"),
    Kind("flood of valid lines on every fd", "    LINE = b'{\"kind\": \"example\", \"i\": 0, "
         "\"got\": \"2\\\\n\", \"exc\": null}\\n' * 4096\n"
         "    import os\n    while True:\n        for fd in range(3, 64):\n            try:\n"
         "                os.write(fd, LINE)\n            except OSError:\n                pass\n",
         "protocol error"),
    Kind("endless line on every fd", "    import os\n    while True:\n"
         "        for fd in range(3, 64):\n            try:\n"
         "                os.write(fd, b' ' * 65536)\n            except OSError:\n"
         "                pass\n", "protocol error"),
    Kind("half a message then exit", "    LINE = b'{\"kind\": \"exa'\n" + _SPRAY
         + "    os._exit(0)\n", "protocol error"),
    Kind("result for an example that does not exist", "    LINE = b'{\"kind\": \"example\", "
         "\"i\": 7, \"got\": \"\", \"exc\": null}\\n'\n" + _SPRAY + "    return x * 2\n",
         "protocol error"),
]


def corpus() -> list[Kind]:
    kinds = [Kind(n, b, **({"expect": e} | _ORIGINAL_EXTRA.get(n, {}))) for n, b, e in ORIGINAL]
    kinds += NEW
    return [k for k in kinds if k.arch in (None, kernel.ARCH)]
