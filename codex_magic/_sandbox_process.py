"""Starting, reading and ending one sandboxed child (the parent's side of ``sandbox``).

Nothing the child's runner writes is trusted: the parent knows the child's pid from its
own spawn, reads the result pipe with caps on bytes and messages, checks each message's
shape, and turns anything else into a "protocol error" for that candidate alone. The
trusted set-up channel is a separate pipe that the runner closes before candidate code
exists. The kill, the cgroup's removal and the work directory's removal always run.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._confine import cgroup

if TYPE_CHECKING:
    from .sandbox import Limits

CHILD = Path(__file__).with_name("_sandbox_child.py")
_KINDS = {"example": ("i", "got", "exc"), "value": ("i", "value", "exc"),
          "syntax": ("detail",), "load": ("got", "exc"), "done": ()}


@dataclass
class ChildRun:
    messages: list[dict[str, Any]]
    timed_out: bool
    exit_code: int | None
    log: str
    seconds: float
    setup: list[dict[str, Any]] = field(default_factory=list)
    protocol_error: str = ""
    oom_killed: bool = False
    peak_bytes: int | None = None
    disk_full: bool = False

    @property
    def mode(self) -> str | None:
        modes = [m.get("mode") for m in self.setup if m.get("kind") in ("mode", "confined")]
        return modes[-1] if modes and isinstance(modes[-1], str) else None

    @property
    def refused(self) -> bool:
        """The child said the policy forbids running (or confining failed)."""
        return any(m.get("mode", "") is None for m in self.setup)

    @property
    def notes(self) -> list[str]:
        last = self.setup[-1].get("notes", []) if self.setup else []
        return [n for n in last if isinstance(n, str)]


class ProtocolError(Exception):
    pass


def user_processes() -> int:
    """Threads the current user runs: RLIMIT_NPROC counts them all, not ours alone."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass
    return count


def scrubbed_env(workdir: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir,
            "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8"}


def _spawn(job: dict[str, Any], workdir: str, log_fd: int,
           group: cgroup.Group | None) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start the child; returns it with the read ends of the set-up and result pipes."""
    job_r, job_w = os.pipe()
    setup_r, setup_w = os.pipe()
    res_r, res_w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-X", "utf8", str(CHILD), str(job_r), str(setup_w),
             str(res_w)],
            stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
            pass_fds=(job_r, setup_w, res_w), start_new_session=True, cwd=workdir,
            env=scrubbed_env(workdir), close_fds=True)
    except BaseException:
        for fd in (job_r, job_w, setup_r, setup_w, res_r, res_w):
            os.close(fd)
        raise
    for fd in (job_r, setup_w, res_w):
        os.close(fd)
    try:
        if group is not None:
            group.add(proc.pid)  # before the job: all it starts is born in the group
        os.write(job_w, json.dumps(job).encode())
    except OSError:
        pass
    finally:
        os.close(job_w)
    return proc, setup_r, res_r


def run_child(program: str, sources: list[str], mode: str, timeout: float, limits: Limits,
              policy: str) -> ChildRun:
    root = os.geteuid() == 0
    workdir = tempfile.mkdtemp(prefix="codex-sandbox-")
    uid = 1_000_000_000 + secrets.randbelow(1_000_000) if root else None
    group = cgroup.create(limits.memory_bytes, limits.processes)
    nproc = limits.processes if root or group else user_processes() + limits.processes
    lim = asdict(limits) | {"cpu_seconds": max(1, int(timeout + 0.999)), "processes": nproc}
    job = {"program": program, "sources": sources, "mode": mode, "workdir": workdir,
           "uid": uid, "limits": lim, "policy": policy, "forks": group is not None,
           "xdg_runtime_dir": os.environ.get("XDG_RUNTIME_DIR")}
    log_path = os.path.join(workdir, ".output")
    start = time.monotonic()
    proc = None
    setup_r = res_r = -1
    run = ChildRun([], True, None, "", 0.0)
    try:
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            proc, setup_r, res_r = _spawn(job, workdir, log_fd, group)
        finally:
            os.close(log_fd)
        read_results(run, setup_r, res_r, proc, start + timeout, len(sources), limits, workdir)
    finally:
        for fd in (setup_r, res_r):
            if fd >= 0:
                os.close(fd)
        if proc is not None:
            if not run.timed_out and not run.protocol_error:
                try:  # let it finish on its own, to learn how it ended
                    run.exit_code = proc.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
            if group is not None:
                run.oom_killed, run.peak_bytes = group.oom_killed(), group.peak_bytes()
            end(proc, run.mode, group, uid)
            if run.exit_code is None:
                run.exit_code = proc.returncode
        if group is not None:
            group.remove()
        run.log = read_head(log_path, limits.log_bytes)
        force_remove(workdir)
        run.seconds = time.monotonic() - start
    return run


class _Stream:
    """One pipe read under caps: at most ``max_bytes`` and ``max_messages`` lines."""

    def __init__(self, fd: int, max_bytes: int, max_messages: int) -> None:
        self.fd, self.max_bytes, self.max_messages = fd, max_bytes, max_messages
        self.buf, self.total, self.count, self.eof = b"", 0, 0, False

    def feed(self) -> list[dict[str, Any]]:
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
            if self.buf.strip():
                raise ProtocolError("a message without its line end")
            return []
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise ProtocolError(f"more than {self.max_bytes} bytes")
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        out = []
        for line in lines:
            self.count += 1
            if self.count > self.max_messages:
                raise ProtocolError(f"more than {self.max_messages} messages")
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError, MemoryError):
                raise ProtocolError("a message that is not JSON") from None
            if not isinstance(msg, dict):
                raise ProtocolError("a message that is not an object")
            out.append(msg)
        return out


def check_message(msg: dict[str, Any], n: int, seen: set[int]) -> None:
    kind = msg.get("kind")
    if kind not in _KINDS or set(msg) != {"kind", *_KINDS[kind]}:
        raise ProtocolError(f"an unknown message {str(kind)[:40]!r}")
    if "i" in msg:
        i = msg["i"]
        if type(i) is not int or not 0 <= i < n or i in seen:
            raise ProtocolError("an example number out of place")
        seen.add(i)
    for key in ("got", "detail"):
        if key in msg and not isinstance(msg[key], str):
            raise ProtocolError(f"a {key} that is not text")
    if "exc" in msg and msg["exc"] is not None and not isinstance(msg["exc"], str):
        raise ProtocolError("an exception that is not text")


def read_results(run: ChildRun, setup_fd: int, result_fd: int, proc: subprocess.Popen[bytes],
                 deadline: float, n: int, limits: Limits, workdir: str) -> None:
    """Fill ``run`` from the two pipes until the results end, the deadline, or an error."""
    setup = _Stream(setup_fd, 1 << 16, 8)
    per_message = 24 * limits.output_chars + 4096  # \\uXXXX escapes, twice the text
    results = _Stream(result_fd, (n + 3) * per_message, n + 3)
    seen: set[int] = set()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            fds = [s.fd for s in (setup, results) if not s.eof]
            if not fds:
                run.timed_out = False
                return
            ready, _, _ = select.select(fds, [], [], min(left, 0.05))
            if not ready and proc.poll() is not None and not select.select(fds, [], [], 0)[0]:
                run.timed_out = False
                return
            if run.mode in ("landlock", "limits") and disk_use(workdir) > 4 * limits.file_bytes:
                run.disk_full, run.timed_out = True, False  # not a tmpfs: the parent watches
                return
            if setup.fd in ready:
                run.setup += setup.feed()
            if results.fd in ready:
                for msg in results.feed():
                    check_message(msg, n, seen)
                    run.messages.append(msg)
                    if msg["kind"] == "done" and len(seen) != n:
                        raise ProtocolError("the end before every result")
                    if msg["kind"] in ("done", "syntax", "load"):
                        run.timed_out = False
                        return
    except ProtocolError as e:
        run.protocol_error = str(e)
        run.timed_out = False


def disk_use(path: str, max_entries: int = 5000) -> float:
    """Bytes under ``path`` (infinite beyond ``max_entries`` files: an inode flood)."""
    total, count, stack = 0, 0, [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    if count > max_entries:
                        return float("inf")
                    st = entry.stat(follow_symlinks=False)
                    total += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            pass
    return total


def end(proc: subprocess.Popen[bytes], mode: str | None, group: cgroup.Group | None,
        uid: int | None) -> None:
    """Kill the child and everything it started, whatever mode it ran in."""
    if mode != "namespaces" and proc.poll() is None:
        try:  # the supervisor kills its descendants, then exits
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=3.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if group is not None:
        group.kill_all()
    try:  # the supervisor and, in the namespaces mode, PID 1: the kernel ends the rest
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass
    if uid is not None:
        kill_uid(uid)


def kill_uid(uid: int) -> None:
    """Kill every process of the sandbox's private uid (as root, whatever the mode)."""
    for _ in range(20):
        found = False
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid == uid:
                        found = True
                        os.kill(int(entry.name), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
        time.sleep(0.01)


def read_head(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    return text + ("\n... [cut]" if len(data) > limit else "")


def force_remove(path: str) -> None:
    """rmtree that also removes what the candidate made read-only."""
    def fix(func, p, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=fix)
