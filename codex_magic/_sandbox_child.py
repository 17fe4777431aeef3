"""The sandbox's child: runs one candidate's examples in a fresh interpreter.

Started by ``codex_magic.sandbox`` as ``python -I _sandbox_child.py`` with the job
on fd JOB_FD and a result pipe on fd RESULT_FD. It imports nothing of
codex_magic. Everything before ``_run_candidate`` is trusted set-up: it confines
the process (namespaces, another uid, read-only file system, rlimits) before any
candidate code exists in it.

The child never sees the expected outputs: it reports what each example printed
and raised, and the parent compares. So a candidate that tampers with this
process (patches builtins, doctest, this module, writes to the pipe) can at most
report outputs it computed itself, which is what passing means.
"""

import ctypes
import json
import os
import resource
import signal
import sys
import traceback

# The parent passes its pipes' numbers: the job to read, the results to write.
JOB_FD = int(sys.argv[1]) if len(sys.argv) > 2 else 3
RESULT_FD = int(sys.argv[2]) if len(sys.argv) > 2 else 4

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

_libc = ctypes.CDLL(None, use_errno=True)
_write = os.write
_dumps = json.JSONEncoder(ensure_ascii=True).encode


def send(obj):
    data = (_dumps(obj) + "\n").encode("ascii")
    try:
        while data:
            data = data[_write(RESULT_FD, data):]
    except OSError:
        pass


def _unshare(flags):
    return _libc.unshare(ctypes.c_int(flags)) == 0


def _mount(src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    return _libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) == 0


def _write_file(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError:
        return False


def enter_namespaces(job, notes):
    """New mount, network, IPC and PID namespaces (and a user namespace when not root)."""
    base = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID
    uid, gid = os.getuid(), os.getgid()
    if os.geteuid() == 0 and _unshare(base):
        return True
    if _unshare(base | CLONE_NEWUSER):
        _write_file("/proc/self/setgroups", "deny")
        _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
        _write_file("/proc/self/gid_map", f"{gid} {gid} 1")
        return True
    notes.append("no namespaces (network and file system not isolated)")
    return False


def _mount_flags(options):
    flags = 0
    for opt, bit in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC),
                     ("noatime", MS_NOATIME), ("nodiratime", MS_NODIRATIME),
                     ("relatime", MS_RELATIME), ("strictatime", MS_STRICTATIME)):
        if opt in options:
            flags |= bit
    return flags


MS_MOVE = 8192


def _hidden_ancestor(path):
    """The first directory above ``path`` that others may not enter, if any."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    cur = ""
    for part in parts[:-1]:
        cur += os.sep + part
        try:
            if not os.stat(cur).st_mode & 0o001:
                return cur
        except OSError:
            return None
    return None


def expose_python(workdir, notes):
    """Let another uid read this Python (often under root's private home), and nothing
    else there: a tmpfs covers the private directory, with the Python folders put back."""
    keep = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    keep |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    by_ancestor = {}
    for p in sorted(keep):
        a = _hidden_ancestor(p)
        if a is not None and not any(p.startswith(k + os.sep) for k in by_ancestor.get(a, ())):
            by_ancestor.setdefault(a, []).append(p)
    for n, (ancestor, paths) in enumerate(by_ancestor.items()):
        staged = []
        for m, p in enumerate(paths):
            stage = os.path.join(workdir, f".stage{n}_{m}")
            os.mkdir(stage)
            if _mount(p, stage, None, MS_BIND | MS_REC):
                staged.append((stage, p))
        if not _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755"):
            notes.append(f"cannot expose Python under {ancestor}")
            continue
        for stage, p in staged:
            os.makedirs(p, exist_ok=True)
            _mount(stage, p, None, MS_MOVE)


def confine_files(workdir, notes, root):
    """Everything read-only but a small fresh tmpfs over the work directory."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if root:
        expose_python(workdir, notes)
    if not _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY):
        notes.append("host /proc visible")
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
    except OSError:
        mounts = []
    failed = 0
    for fields in mounts:
        point = fields[4].encode().decode("unicode_escape")
        if point == workdir:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(fields[5].split(","))
        if not _mount(None, point, None, flags):
            failed += 1
    if failed:
        notes.append(f"{failed} mounts left writable")
    if not _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
                  f"size={job_limit('file_bytes', 16 << 20) * 4},mode=0700,"
                  f"uid={os.getuid()},gid={os.getgid()}"):
        notes.append("work directory not a private tmpfs")


_job: dict[str, object] = {}


def job_limit(name, default):
    return int(_job.get("limits", {}).get(name, default))


def drop_privileges(job):
    if os.geteuid() != 0 or job.get("uid") is None:
        return
    uid = int(job["uid"])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def set_limits():
    cpu = job_limit("cpu_seconds", 10)
    for res, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (job_limit("memory_bytes", 1 << 30),) * 2),
        (resource.RLIMIT_FSIZE, (job_limit("file_bytes", 16 << 20),) * 2),
        (resource.RLIMIT_NOFILE, (job_limit("open_files", 64),) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NPROC, (job_limit("processes", 16),) * 2),
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


def _run_candidate(job):
    program, sources = job["program"], job["sources"]
    limit = job_limit("output_chars", 16384)
    real_stdout = sys.stdout
    globs = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        code = compile(program, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        send({"kind": "syntax", "detail": "".join(traceback.format_exception_only(type(e), e))})
        return
    cap = _Capture(limit)
    sys.stdout = cap
    try:
        exec(code, globs)
    except BaseException as e:
        sys.stdout = real_stdout
        send({"kind": "load", "got": cap.value(),
              "exc": traceback.format_exception_only(type(e), e)[-1][:limit]})
        return
    sys.stdout = real_stdout
    for i, source in enumerate(sources):
        cap = _Capture(limit)
        exc = None
        try:
            sys.stdout = cap
            try:
                exec(compile(source, f"<example {i + 1}>", job.get("mode", "single"),
                             dont_inherit=True), globs)
            finally:
                sys.stdout = real_stdout
        except BaseException as e:
            try:
                exc = traceback.format_exception_only(type(e), e)[-1][:limit]
            except BaseException:
                exc = f"{type(e).__name__}: <unprintable>\n"
        send({"kind": "example", "i": i, "got": cap.value(), "exc": exc})


def _exit_code(status):
    """Pass a child's end on: its exit code, or 128 + the signal that killed it."""
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def main():
    global _job
    with os.fdopen(JOB_FD, "rb") as f:
        _job = job = json.loads(f.read())
    notes = []
    namespaced = enter_namespaces(job, notes)
    if namespaced:
        pid = os.fork()
        if pid:
            # This process stays trusted: it reports the candidate's pid and how it ended.
            send({"kind": "hello", "pid": pid, "notes": notes})
            os.close(RESULT_FD)
            signal.signal(signal.SIGTERM, lambda *a: os.kill(pid, signal.SIGKILL))
            _, status = os.waitpid(pid, 0)
            os._exit(_exit_code(status))
        # Now PID 1 of a new PID namespace: when this process dies, so does all it started.
        confine_files(job["workdir"], notes, root=job.get("uid") is not None)
        send({"kind": "confined", "notes": notes})
        # The candidate runs as PID 2, where signals behave as usual (PID 1 ignores
        # default-action signals) and kill(-1) cannot take down this init.
        runner = os.fork()
        if runner:
            os.close(RESULT_FD)
            _, status = os.waitpid(runner, 0)
            os._exit(_exit_code(status))
    else:
        send({"kind": "hello", "pid": os.getpid(), "notes": notes})
    os.chdir(job["workdir"])
    drop_privileges(job)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if namespaced:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    set_limits()
    os.umask(0o077)
    os.closerange(3, RESULT_FD)
    os.closerange(RESULT_FD + 1, 1 << 16)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    _run_candidate(job)
    send({"kind": "done"})
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
