"""Running untrusted candidates' doctests, never in the kernel.

Each candidate runs in a fresh ``python -I`` subprocess (``_sandbox_child.py``)
that, before any candidate code exists in it, enters new PID, mount, network
and IPC namespaces (a user namespace too when not root), makes the file system
read-only except a private tmpfs work directory, drops to an unused uid when
started as root, and sets CPU, memory, file-size, open-file and process
rlimits. Its stdin is /dev/null, its environment is scrubbed, and the parent
kills it (and, through the PID namespace, everything it started) at the
wall-clock timeout. What each example printed and raised comes back over a
pipe; the comparison with the expected output happens here, in the parent.

This is not a virtual machine: see docs/security.md for what holds and what does not.
"""

from __future__ import annotations

import doctest
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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from ._limits import usable_cores
from .types import Doctest, Failure, Verdict

CHILD = Path(__file__).with_name("_sandbox_child.py")


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    open_files: int = 64
    processes: int = 16  # beyond what the user already runs, when not root
    output_chars: int = 16384  # kept per example
    log_bytes: int = 8192  # kept of what the process wrote to its stdout/stderr


def run_doctests(program: str, doctests: Sequence[Doctest], timeout: float,
                 limits: Limits | None = None) -> Verdict:
    """Run ``program`` then each example in one sandboxed process; compare here."""
    if not doctests:
        return Verdict(passed=0, total=0, status="no tests")
    run = _run_child(program, [d.source for d in doctests], "single", timeout, limits or Limits())
    return _verdict(doctests, run)


def run_tests(program: str, test_code: str, timeout: float,
              limits: Limits | None = None) -> Verdict:
    """Run ``program`` then ``test_code`` (e.g. HumanEval's check); pass = no exception."""
    # Whatever the program prints is not part of the verdict (HumanEval's rule): the
    # expected output is "...", which ELLIPSIS matches with any output, none included.
    test = Doctest(source=test_code, want="...", options={doctest.ELLIPSIS: True})
    run = _run_child(program, [test_code], "exec", timeout, limits or Limits())
    return _verdict([test], run)


def run_candidates(programs: Sequence[str], doctests: Sequence[Doctest], timeout: float,
                   limits: Limits | None = None, workers: int | None = None,
                   on_done: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
    """``run_doctests`` for each program, in parallel over the usable cores."""
    if not programs:
        return []
    workers = workers or usable_cores()
    results: list[Verdict | None] = [None] * len(programs)
    # on_done runs in the calling thread: it may update a widget, and a kernel's output
    # channel should not be written from short-lived worker threads.
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(programs)))) as pool:
        futures = {pool.submit(run_doctests, program, doctests, timeout, limits): i
                   for i, program in enumerate(programs)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done is not None:
                on_done(i, future.result())
    return [r for r in results if r is not None]


# -- the child process -------------------------------------------------------------------


@dataclass
class _ChildRun:
    messages: list[dict]
    timed_out: bool
    exit_code: int | None
    log: str
    seconds: float
    notes: list[str]


def _user_processes() -> int:
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


def _scrubbed_env(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def _run_child(program: str, sources: list[str], mode: str, timeout: float,
               limits: Limits) -> _ChildRun:
    root = os.geteuid() == 0
    workdir = tempfile.mkdtemp(prefix="codex-sandbox-")
    uid = 1_000_000_000 + secrets.randbelow(1_000_000) if root else None
    nproc = limits.processes if root else _user_processes() + limits.processes
    lim = asdict(limits) | {"cpu_seconds": max(1, int(timeout + 0.999)), "processes": nproc}
    job = {"program": program, "sources": sources, "mode": mode, "workdir": workdir,
           "uid": uid, "limits": lim}
    log_path = os.path.join(workdir, ".output")
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    if uid is not None:
        os.chown(workdir, uid, uid)
    job_r, job_w = os.pipe()
    res_r, res_w = os.pipe()
    start = time.monotonic()
    proc = None
    messages: list[dict] = []
    timed_out = True  # until the results say otherwise
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-X", "utf8", str(CHILD), str(job_r), str(res_w)],
            stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
            pass_fds=(job_r, res_w), start_new_session=True, cwd=workdir,
            env=_scrubbed_env(workdir), close_fds=True,
        )
        os.close(job_r)
        job_r = -1
        os.close(res_w)
        res_w = -1
        try:
            os.write(job_w, json.dumps(job).encode())
        except OSError:
            pass
        os.close(job_w)
        job_w = -1
        messages, timed_out = _read_results(res_r, proc, start + timeout, len(sources))
    finally:
        for fd in (job_r, job_w, res_w, log_fd):
            if fd >= 0:
                os.close(fd)
        os.close(res_r)
        pids = [m["pid"] for m in messages if m.get("kind") == "hello"]
        exit_code = None
        if proc is not None:
            if not timed_out:
                try:  # let it finish on its own, to learn how it ended
                    exit_code = proc.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
            _kill_all(proc, pids, uid)
            if exit_code is None:
                exit_code = proc.returncode
        log = _read_head(log_path, limits.log_bytes)
        _force_remove(workdir)
    notes = [n for m in messages if m.get("kind") in ("hello", "confined")
             for n in m.get("notes", [])]
    return _ChildRun(messages, timed_out, exit_code, log, time.monotonic() - start, notes)


def _read_results(fd: int, proc: subprocess.Popen, deadline: float,
                  n_examples: int) -> tuple[list[dict], bool]:
    messages: list[dict] = []
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return messages, True
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            if proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
                return messages, False
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return messages, False
        buf += chunk
        if len(buf) > 64 * (n_examples + 4) * 16384:  # far beyond any honest report
            return messages, False
        *lines, buf = buf.split(b"\n")
        for line in lines:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict):
                messages.append(msg)
                if msg.get("kind") in ("done", "syntax", "load"):
                    return messages, False


def _kill_all(proc: subprocess.Popen, pids: list[int], uid: int | None) -> None:
    # Killing PID 1 of the candidate's namespace kills everything inside it.
    for pid in pids:
        if pid != proc.pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass
    if uid is not None:
        _kill_uid(uid)


def _kill_uid(uid: int) -> None:
    """Kill every process of the sandbox's private uid (the no-namespace fallback)."""
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


def _read_head(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    return text + ("\n... [cut]" if len(data) > limit else "")


def _force_remove(path: str) -> None:
    """rmtree that also removes what the candidate made read-only."""
    def fix(func, p, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=fix)


# -- the verdict -----------------------------------------------------------------------------


_CHECKER = doctest.OutputChecker()


def _flags(d: Doctest) -> int:
    flags = 0
    for flag, on in d.options.items():
        flags = flags | int(flag) if on else flags & ~int(flag)
    return flags


def _exc_matches(d: Doctest, exc_line: str, flags: int) -> bool:
    assert d.exc_msg is not None
    if _CHECKER.check_output(d.exc_msg, exc_line, flags):
        return True
    if flags & doctest.IGNORE_EXCEPTION_DETAIL:
        strip = getattr(doctest, "_strip_exception_details", None)
        if strip is not None:
            return bool(_CHECKER.check_output(strip(d.exc_msg), strip(exc_line), flags))
    return False


def _verdict(doctests: Sequence[Doctest], run: _ChildRun) -> Verdict:
    total = len(doctests)
    by_kind = {m.get("kind"): m for m in run.messages}
    details = "; ".join(run.notes)
    if "syntax" in by_kind:
        detail = str(by_kind["syntax"].get("detail", ""))[:2000]
        return Verdict(0, total, (), "syntax error", detail, run.seconds)
    if "load" in by_kind:
        m = by_kind["load"]
        exc = _text(m.get("exc"))
        return Verdict(0, total, (Failure("(defining the function)", "", _text(m.get("got")) + exc,
                                          _reason(exc)),), "error", exc.strip(), run.seconds)
    results: dict[int, dict] = {}
    for m in run.messages:
        if m.get("kind") == "example" and isinstance(m.get("i"), int):
            results.setdefault(m["i"], m)
    passed = 0
    failures = []
    for i, d in enumerate(doctests):
        flags = _flags(d)
        result = results.get(i)
        if result is None:
            reason = _ended(run)
            failures.append(Failure(d.source, d.want, run.log[-2000:], reason))
            continue
        got, raised = _text(result.get("got")), result.get("exc")
        if raised is None:
            if d.exc_msg is None and _CHECKER.check_output(d.want, got, flags):
                passed += 1
            else:
                failures.append(Failure(d.source, d.want if d.exc_msg is None else
                                        "Traceback (most recent call last):\n  ...\n" + d.exc_msg,
                                        got, "wrong output"))
        else:
            line = _text(raised)
            if d.exc_msg is not None and _exc_matches(d, line, flags):
                passed += 1
            else:
                failures.append(Failure(d.source, d.want, got + line, _reason(line)))
    status = "ok"
    if run.timed_out:
        status = "timed out"
    elif any(f.reason.startswith(("crashed", "exited", "killed")) for f in failures):
        status = "crashed"
    return Verdict(passed, total, tuple(failures), status, details, run.seconds)


def _text(x: object) -> str:
    return x if isinstance(x, str) else ""


def _reason(exc_line: str) -> str:
    if exc_line.startswith("MemoryError"):
        return "killed: memory"
    if exc_line.startswith("RecursionError"):
        return "exception: recursion too deep"
    return "exception: " + exc_line.strip()[:200]


def _ended(run: _ChildRun) -> str:
    """Why an example has no result: the process ran out of time or died."""
    if run.timed_out:
        return "timed out"
    code = run.exit_code
    if code is None:
        return "no result"
    if code < 0 or code >= 128:
        sig = -code if code < 0 else code - 128
        names: dict[int, str] = {
            signal.SIGXCPU: "CPU time limit", signal.SIGXFSZ: "file size limit",
            signal.SIGSEGV: "segmentation fault", signal.SIGKILL: "killed",
            signal.SIGABRT: "aborted"}
        name = names.get(sig, f"signal {sig}")
        return f"crashed: {name}"
    return f"exited with code {code} before finishing"
