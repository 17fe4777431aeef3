"""What a hostile candidate would reach on the host, made real for the sandbox tests:
Unix socket servers (by path under /tmp and /dev/shm, and abstract), TCP and UDP servers
on loopback, a key in the test's session keyring, a bystander process of the test's uid,
and the checks that none of them was reached and nothing was left behind."""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from codex_magic import sandbox
from codex_magic.sandbox.confine import syscalls as kernel

MARK = f"codexmark{os.getpid()}"
KEY_PAYLOAD = b"hunter2-keyring"
MODES = ("namespaces", "landlock", "limits")
WATCHED = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path.home(), Path.cwd()]


def procs_with(marker: str) -> list[int]:
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


def sandbox_processes() -> list[int]:
    """Sandbox children started by this test process that are still running (other test
    runs on the machine may have sandboxes of their own)."""
    mine = []
    for pid in procs_with("sandbox/child.py"):
        ancestor = pid
        for _ in range(64):
            try:
                with open(f"/proc/{ancestor}/stat") as f:
                    ancestor = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
            if ancestor == os.getpid():
                mine.append(pid)
                break
            if ancestor <= 1:
                break
    return mine


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def python_hidden_from_other_uids() -> bool:
    """A Python under a private directory (pyenv in /root): another uid cannot import."""
    return not all(kernel.readable_by_others(p) for p in (sys.base_prefix, sys.prefix))


def mode_skip_reason(mode: str) -> str | None:
    """Why this mode cannot run here, or None."""
    old = os.environ.get("CODEX_MAGIC_SANDBOX")
    os.environ["CODEX_MAGIC_SANDBOX"] = mode
    try:
        info = sandbox.describe()
    finally:
        if old is None:
            del os.environ["CODEX_MAGIC_SANDBOX"]
        else:
            os.environ["CODEX_MAGIC_SANDBOX"] = old
    if info["mode"] is None:
        return f"{mode} mode not available here: {info['why']}"
    if mode == "limits" and os.geteuid() == 0 and python_hidden_from_other_uids():
        return ("limits mode as root runs candidates as another uid, which cannot read this "
                "Python (it lies under a private directory); CI runs it with Debian's Python")
    return None


def forks_allowed(mode: str) -> bool:
    """Whether candidate code may start processes: with a cgroup, or without seccomp."""
    from codex_magic.sandbox.confine import cgroup

    return mode == "limits" or cgroup.available()


class Host:
    """The host's servers, key and bystander; ``reached()`` says what a candidate got."""

    def __init__(self) -> None:
        name = f"codex-host-{os.getpid()}-{secrets.token_hex(3)}"  # one per Host
        self.dirs = [Path("/tmp") / name, Path("/dev/shm") / name]
        self.hits: list[str] = []
        self._stop = False
        self._servers: list[socket.socket] = []
        for d in self.dirs:
            d.mkdir(exist_ok=True)
            d.chmod(0o777)
            self._serve(socket.AF_UNIX, str(d / "host.sock"), f"unix {d}")
            (d / "host.sock").chmod(0o777)  # any uid may connect: only seccomp stops it
        self.abstract = name
        self._serve(socket.AF_UNIX, "\0" + self.abstract, "abstract")
        self.tcp_port = self._serve(socket.AF_INET, ("127.0.0.1", 0), "tcp")
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.udp_port = self.udp.getsockname()[1]
        threading.Thread(target=self._udp_loop, daemon=True).start()
        self.secret_file = self.dirs[0] / "secret"  # only the tester may read it
        self.secret_file.write_text("hunter2-file\n")
        self.secret_file.chmod(0o600)
        self.key = f"codex-secret-{os.getpid()}"
        self.shm_key = 0x0C0D0000 | (os.getpid() & 0xFFFF)
        self.has_key = self._add_key()
        self.bystander: subprocess.Popen[bytes] | None = None
        self.respawn_bystander()

    def _serve(self, family: int, address: object, name: str) -> int:
        srv = socket.socket(family, socket.SOCK_STREAM)
        srv.bind(address)
        srv.listen(16)
        srv.settimeout(0.2)
        self._servers.append(srv)

        def loop() -> None:
            while not self._stop:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    continue
                self.hits.append(name)
                try:
                    conn.sendall(b"host secret")
                    conn.close()
                except OSError:
                    pass

        threading.Thread(target=loop, daemon=True).start()
        return srv.getsockname()[1] if family == socket.AF_INET else 0

    def _udp_loop(self) -> None:
        while not self._stop:
            try:
                self.udp.recv(100)
                self.hits.append("udp")
            except OSError:
                continue

    def _add_key(self) -> bool:
        libc = ctypes.CDLL(None, use_errno=True)
        nr = kernel.NUMBERS.get("add_key")
        if nr is None:
            return False
        key = libc.syscall(nr, b"user", self.key.encode(), KEY_PAYLOAD, len(KEY_PAYLOAD),
                           ctypes.c_int(-3))  # KEY_SPEC_SESSION_KEYRING
        return key > 0

    def respawn_bystander(self) -> None:
        if self.bystander is None or self.bystander.poll() is not None:
            self.bystander = subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(3600)",
                 f"codex-bystander-{os.getpid()}"])

    def bystander_alive(self) -> bool:
        return self.bystander is not None and self.bystander.poll() is None

    def fill(self, body: str) -> str:
        values = {"@MARK@": MARK, "@SOCK_TMP@": str(self.dirs[0] / "host.sock"),
                  "@SOCK_SHM@": str(self.dirs[1] / "host.sock"), "@ABSTRACT@": self.abstract,
                  "@PORT@": str(self.tcp_port), "@UDP_PORT@": str(self.udp_port),
                  "@BYSTANDER@": str(self.bystander.pid if self.bystander else 0),
                  "@KEY@": self.key, "@CWD@": str(Path.cwd()), "@SHM_KEY@": str(self.shm_key),
                  "@SECRET_FILE@": str(self.secret_file)}
        for name, nr in kernel.NUMBERS.items():
            values[f"@NR_{name}@"] = str(nr)
        for k, v in values.items():
            body = body.replace(k, v)
        return body

    def left_behind(self) -> list[str]:
        """Processes and files of the candidate's found outside the sandbox."""
        time.sleep(0.05)
        found = [f"process {p}" for p in procs_with(MARK) if p != os.getpid()]
        for d in WATCHED:
            try:
                found += [str(d / n) for n in os.listdir(d) if MARK in n]
            except OSError:
                pass
        return found

    def clean(self) -> None:
        """After a kind the mode does not contain (a documented hole): undo what it did."""
        for p in procs_with(MARK):
            if p != os.getpid():
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        for d in WATCHED:
            try:
                for n in os.listdir(d):
                    if MARK in n:
                        path = d / n
                        shutil.rmtree(path) if path.is_dir() else path.unlink()
            except OSError:
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        shm = libc.shmget(self.shm_key, 0, 0)  # a segment the limits mode let it leave
        if shm >= 0:
            libc.shmctl(shm, 0, None)  # IPC_RMID
        self.hits.clear()
        self.respawn_bystander()

    def close(self) -> None:
        self._stop = True
        for s in [*self._servers, self.udp]:
            s.close()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        if self.bystander is not None:
            self.bystander.kill()
            self.bystander.wait()
