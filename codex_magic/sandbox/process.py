"""Starting and ending one sandboxed child (the parent's side of ``sandbox``).

The parent knows the child's pid from its own spawn and never from a message; it reads
the child's pipes under caps (``_sandbox_read``); the kill of everything the candidate
started, the cgroup's removal and the work directory's removal always run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .confine import cgroup
from .read import ChildRun, read_results

if TYPE_CHECKING:
    from .limits import Limits

CHILD = Path(__file__).with_name("child.py")
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


def spawn(job: dict[str, Any], workdir: str, log_fd: int,
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
            try:
                group.add(proc.pid)  # before the job: all it starts is born in the group
            except OSError:
                proc.kill()  # no job: the child exits before anything runs
                proc.wait()
                os.close(setup_r)
                os.close(res_r)
                raise
        try:
            os.write(job_w, json.dumps(job).encode())
        except OSError:
            pass  # the child is gone already: its exit says how
    finally:
        os.close(job_w)
    return proc, setup_r, res_r


def run_child(program: str, sources: list[str], mode: str, timeout: float, limits: Limits,
              policy: str, cancel: threading.Event | None = None) -> ChildRun:
    root = os.geteuid() == 0
    uid = 1_000_000_000 + secrets.randbelow(1_000_000) if root else None
    start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="codex-sandbox-")
    log_path = os.path.join(workdir, ".output")
    proc = group = None
    setup_r = res_r = log_fd = -1
    run = ChildRun([], True, None, "", 0.0)
    try:
        group = cgroup.create(limits.memory_bytes, limits.processes)
        nproc = limits.processes if root or group else user_processes() + limits.processes
        lim = asdict(limits) | {"cpu_seconds": max(1, int(timeout + 0.999)), "processes": nproc}
        job = {"program": program, "sources": sources, "mode": mode, "workdir": workdir,
               "uid": uid, "limits": lim, "policy": policy, "forks": group is not None,
               "xdg_runtime_dir": os.environ.get("XDG_RUNTIME_DIR")}
        # Read back through this descriptor, never by path: in the work directory the
        # candidate could put a symlink to a file only the parent may read in its place.
        log_fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        proc, setup_r, res_r = spawn(job, workdir, log_fd, group)
        read_results(run, setup_r, res_r, proc, start + timeout, len(sources), limits, workdir,
                     cancel)
    finally:
        try:
            for fd in (setup_r, res_r):
                if fd >= 0:
                    os.close(fd)
            if proc is not None:
                _finish(proc, run, group, uid)
        finally:
            try:
                if group is not None:
                    group.remove()
            finally:
                run.log = read_head(log_fd, limits.log_bytes)
                if log_fd >= 0:
                    os.close(log_fd)
                force_remove(workdir)
                run.seconds = time.monotonic() - start
    return run


def _finish(proc: subprocess.Popen[bytes], run: ChildRun, group: cgroup.Group | None,
            uid: int | None) -> None:
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


def end(proc: subprocess.Popen[bytes], mode: str | None, group: cgroup.Group | None,
        uid: int | None) -> None:
    """Kill the child and everything it started, whatever mode it ran in."""
    if mode != "namespaces" and proc.poll() is None:
        try:  # the supervisor kills its descendants, then exits
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=2.0)
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


def read_head(fd: int, limit: int) -> str:
    try:
        data = os.pread(fd, limit + 1, 0)
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    return text + ("\n... [cut]" if len(data) > limit else "")


def force_remove(path: str) -> None:
    """rmtree that also removes what the candidate made read-only."""
    def fix(func, p, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(os.path.dirname(p), 0o700)
            if not os.path.islink(p):  # chmod would follow it out of the directory
                os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=fix)
