"""The sandbox's child: runs one candidate's examples in a fresh interpreter.

Started by ``codex_magic.sandbox`` as ``python -I child.py JOB SETUP RESULT``
with three pipes: the job to read, the trusted set-up channel and the result channel.
It imports nothing of codex_magic but the ``confine`` package, which it loads by path.

Everything before ``_run_candidate`` is trusted set-up. The first process (the
supervisor) joins a fresh session keyring and picks the mode the job's policy allows:

- namespaces: new PID, mount, network and IPC namespaces; PID 1 covers host paths and
  makes the file system read-only (``confine.mounts``); the candidate runs as PID 2;
- landlock: the supervisor becomes a child subreaper; the candidate's process is
  restricted by Landlock (``confine.landlock``); at the end the supervisor kills every
  descendant, daemons included;
- limits: the same process tree, with rlimits only.

The runner then drops to the sandbox's uid (as root), sets no_new_privs, the
parent-death signal and the rlimits the parent sent, installs the seccomp filter
(``confine.seccomp``), reports what it applied on the set-up channel and closes it.
Only then does candidate code exist. The child never sees the expected outputs: it
reports what each example printed and raised (or, for hidden tests, the value of each
call), and the parent compares. A candidate that writes to the result pipe itself can
at most report outputs it computed, and the parent caps and checks what it reads.
"""

import importlib.util
import json
import os
import resource
import signal
import sys
import traceback

JOB_FD, SETUP_FD, RESULT_FD = (int(a) for a in sys.argv[1:4])

_write = os.write
_dumps = json.JSONEncoder(ensure_ascii=True).encode


def load_confine():
    """The ``confine`` package beside this file, without putting codex_magic/ on sys.path
    (its types.py would shadow the standard library's)."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "confine")
    spec = importlib.util.spec_from_file_location(
        "confine", os.path.join(here, "__init__.py"), submodule_search_locations=[here])
    package = importlib.util.module_from_spec(spec)
    sys.modules["confine"] = package
    spec.loader.exec_module(package)
    import confine.landlock
    import confine.mounts
    import confine.seccomp
    import confine.syscalls
    import confine.values  # noqa: F401
    return package


def send(fd, obj):
    data = (_dumps(obj) + "\n").encode("ascii")
    try:
        while data:
            data = data[_write(fd, data):]
    except OSError:
        pass


def _exit_code(status):
    """Pass a child's end on: its exit code, or 128 + the signal that killed it."""
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def choose_mode(job, confine, notes):
    """The strongest mode the policy allows, or None when the policy refuses what is left."""
    policy = job["policy"]
    seccomp_ok = confine.syscalls.seccomp_available()
    if policy in ("auto", "strict", "namespaces") and confine.mounts.enter_namespaces():
        if not seccomp_ok:
            notes.append("no seccomp filter on this kernel")
            if policy == "strict":
                return None
        return "namespaces"
    if policy == "namespaces":
        return None
    abi = confine.landlock.abi()
    if policy in ("auto", "strict", "landlock") and abi > 0 and seccomp_ok:
        return "landlock"
    if policy in ("strict", "landlock"):
        return None
    return "limits"


_WATCHED = {signal.SIGTERM, signal.SIGCHLD}  # blocked in the supervisor, taken with sigtimedwait


def supervise(runner, subreaper):
    """Wait for the runner, or for the parent's SIGTERM; then end every descendant.
    The signals stay blocked and are taken when waited for, so none can interrupt the
    clean-up half-way."""
    os.close(SETUP_FD)
    os.close(RESULT_FD)
    code = 128 + signal.SIGKILL
    while True:
        try:
            pid, status = os.waitpid(runner, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            code = _exit_code(status)
            break
        info = signal.sigtimedwait(_WATCHED, 1.0)
        if info is not None and info.si_signo == signal.SIGTERM:
            break
    if subreaper is not None:
        subreaper.kill_descendants()
    os._exit(code)


def main():
    with os.fdopen(JOB_FD, "rb") as f:
        job = json.loads(f.read())
    confine = load_confine()
    syscalls = confine.syscalls
    notes = []
    try:
        syscalls.join_fresh_session_keyring()
    except OSError as e:
        notes.append(f"session keyring shared ({e.strerror})")
    mode = choose_mode(job, confine, notes)
    facts = {"kind": "mode", "mode": mode, "landlock_abi": confine.landlock.abi(),
             "seccomp": syscalls.seccomp_available(), "arch": syscalls.ARCH}
    if mode is None or job.get("probe"):
        send(SETUP_FD, facts | {"notes": notes})
        os._exit(0 if mode else 3)
    signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    if mode == "namespaces":
        init = os.fork()
        if init:
            supervise(init, None)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _WATCHED)
        # PID 1 of the new PID namespace: when it dies, everything in it dies.
        syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)
        confine.mounts.confine_files(job["workdir"], job["uid"] if job["uid"] is not None
                                     else os.getuid(), job["limits"]["file_bytes"] * 4, notes,
                                     job.get("xdg_runtime_dir"))
    else:
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    parent = os.getpid()
    runner = os.fork()
    if runner:
        if mode == "namespaces":  # reap orphans until the runner ends
            os.close(SETUP_FD)
            os.close(RESULT_FD)
            while True:
                pid, status = os.wait()
                if pid == runner:
                    os._exit(_exit_code(status))
        supervise(runner, syscalls)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _WATCHED)
    confine_runner(job, confine, mode, parent, facts, notes)
    _run_candidate(job, confine.values)
    send(RESULT_FD, {"kind": "done"})
    sys.stdout.flush()
    os._exit(0)


def confine_runner(job, confine, mode, parent, facts, notes):
    syscalls = confine.syscalls
    syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the supervisor died before the line above
        os._exit(128 + signal.SIGKILL)
    os.chdir(job["workdir"])
    if mode == "namespaces" and job["uid"] is None:
        # Inside its user namespace the runner holds every capability (CAP_SYS_ADMIN
        # could remount the host's mounts writable again): none may reach the candidate.
        syscalls.drop_capabilities()
    elif os.geteuid() == 0 and job["uid"] is not None:
        drop_root(job, confine, mode, facts["landlock_abi"], notes)
    syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
    applied = []
    if mode == "landlock":
        readable = [*confine.landlock.SYSTEM_DIRS, *confine.mounts.python_paths(),
                    os.path.dirname(os.path.abspath(__file__))]
        try:
            applied += confine.landlock.restrict(job["workdir"], readable, facts["landlock_abi"])
        except OSError as e:
            send(SETUP_FD, facts | {"mode": None, "notes": [*notes, f"Landlock: {e.strerror}"]})
            os._exit(3)
    set_limits(job["limits"])
    os.umask(0o077)
    if mode in ("namespaces", "landlock") and facts["seccomp"]:
        try:
            confine.seccomp.install(forks=job["forks"])
            applied.append("seccomp")
        except OSError as e:
            if mode == "landlock" or job["policy"] == "strict":
                send(SETUP_FD, facts | {"mode": None, "notes": [*notes, f"seccomp: {e.strerror}"]})
                os._exit(3)
            notes.append(f"no seccomp filter ({e.strerror})")
    send(SETUP_FD, facts | {"kind": "confined", "applied": applied, "notes": notes})
    os.close(SETUP_FD)
    os.closerange(3, RESULT_FD)
    os.closerange(RESULT_FD + 1, 1 << 16)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))


def drop_root(job, confine, mode, abi, notes):
    """As root: become the job's unused uid. Where this Python lies in a directory that
    uid cannot enter (pyenv under /root) and no mount can expose it, the Landlock mode
    stays uid 0 with no capability at all instead, confined by Landlock: only from ABI 6,
    which also covers truncate, device ioctls and signals (uid 0 may signal and truncate
    everything else of root's)."""
    syscalls, uid = confine.syscalls, job["uid"]
    hidden = mode != "namespaces" and not all(
        syscalls.readable_by_others(p) for p in confine.mounts.python_paths())
    if hidden and mode == "landlock" and abi >= 6:
        syscalls.drop_capabilities()
        notes.append("uid 0 without capabilities (Python lies in a private directory)")
        return
    if hidden:
        notes.append("Python lies in a directory the sandbox's uid cannot enter: "
                     "modules not yet imported fail")
    if mode != "namespaces":
        os.chown(job["workdir"], uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def set_limits(limits):
    cpu = limits["cpu_seconds"]
    for res, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (limits["memory_bytes"],) * 2),
        (resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2),
        (resource.RLIMIT_NOFILE, (limits["open_files"],) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NPROC, (limits["processes"],) * 2),
    ):
        try:
            resource.setrlimit(res, value)
        except (ValueError, OSError):
            pass


class _Capture:
    """stdout for one example: keeps the first ``limit`` characters."""

    def __init__(self, limit):
        self.parts, self.size, self.limit, self.dropped = [], 0, limit, 0

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        room = self.limit - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def flush(self):
        pass

    def close(self):
        pass

    def isatty(self):
        return False

    def value(self):
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n... [{self.dropped} more characters cut]\n"
        return text


def _exc_line(e, limit):
    try:
        return traceback.format_exception_only(type(e), e)[-1][:limit]
    except BaseException:
        return f"{type(e).__name__}: <unprintable>\n"


def _run_candidate(job, values):
    program, sources, mode = job["program"], job["sources"], job["mode"]
    limit = job["limits"]["output_chars"]
    real_stdout = sys.stdout
    globs = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(program, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        send(RESULT_FD, {"kind": "syntax", "detail": _exc_line(e, 2000)})
        return
    cap = _Capture(limit)
    sys.stdout = cap
    try:
        exec(code, globs)
    except BaseException as e:
        sys.stdout = real_stdout
        send(RESULT_FD, {"kind": "load", "got": cap.value(), "exc": _exc_line(e, limit)})
        return
    sys.stdout = real_stdout
    for i, source in enumerate(sources):
        cap = _Capture(limit)
        exc = value = None
        try:
            sys.stdout = cap
            try:
                compiled = compile(source, f"<example {i + 1}>",
                                   "eval" if mode == "calls" else mode, dont_inherit=True)
                result = eval(compiled, globs) if mode == "calls" else exec(compiled, globs)
            finally:
                sys.stdout = real_stdout
            if mode == "calls":
                value = values.encode(result, limit)
        except values.Unencodable as e:
            value = {"x": str(e)}
        except BaseException as e:
            exc = _exc_line(e, limit)
        if mode == "calls":
            send(RESULT_FD, {"kind": "value", "i": i, "value": value, "exc": exc})
        else:
            send(RESULT_FD, {"kind": "example", "i": i, "got": cap.value(), "exc": exc})


if __name__ == "__main__":
    main()
