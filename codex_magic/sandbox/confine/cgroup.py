"""One memory and one process limit for a whole candidate: a cgroup per run (parent side).

The parent makes a child group of its own cgroup, sets its limits, moves the sandbox's
first process in before sending it the job (so everything the candidate starts is born
inside), and at the end kills every process in it and removes it. cgroup v2 is used
when the group gets ``memory.max`` and ``pids.max`` there; otherwise the v1 ``memory``
and ``pids`` hierarchies (machines with a v1 hybrid). Without write access to either
(an ordinary user without a delegated group, most containers) ``create`` returns None
and the sandbox falls back to what seccomp and rlimits can bound.

A cgroup counts every page of the candidate: all its processes, tmpfs and memfd pages.
"""

import os
import secrets
import signal
import time


def _own_groups():
    """{controller or "": path} from /proc/self/cgroup ("" is the v2 group)."""
    groups = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    groups[c] = path
    except OSError:
        pass
    return groups


def _mounts():
    """{controller or "": mount point} of the cgroup file systems."""
    found = {}
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype, _, options = ([*right.split(), "", "", ""])[:3]
                point = left.split()[4]
                if fstype == "cgroup2":
                    found.setdefault("", point)
                elif fstype == "cgroup":
                    for opt in options.split(","):
                        if opt in ("memory", "pids"):
                            found.setdefault(opt, point)
    except OSError:
        pass
    return found


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Group:
    """The cgroup(s) of one candidate run."""

    def __init__(self, dirs, version):
        self.dirs = dirs  # one directory (v2) or the memory and pids directories (v1)
        self.version = version

    @property
    def _memory_dir(self):
        return self.dirs[0]

    def add(self, pid):
        for d in self.dirs:
            _write(os.path.join(d, "cgroup.procs"), str(pid))

    def pids(self):
        found = set()
        for d in self.dirs:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    found |= {int(x) for x in f.read().split()}
            except (OSError, ValueError):
                pass
        return found

    def oom_killed(self):
        """Whether the kernel killed a process of this group for memory."""
        d = self._memory_dir
        try:
            if self.version == 2:
                with open(os.path.join(d, "memory.events")) as f:
                    return any(line.split()[0] == "oom_kill" and int(line.split()[1]) > 0
                               for line in f)
            with open(os.path.join(d, "memory.oom_control")) as f:
                return any(line.split()[0] == "oom_kill" and int(line.split()[1]) > 0
                           for line in f)
        except (OSError, ValueError, IndexError):
            return False

    def peak_bytes(self):
        """The most memory the group held at once (None where the kernel does not say)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            with open(os.path.join(self._memory_dir, name)) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill_all(self, rounds=200):
        """SIGKILL every process in the group until it is empty."""
        if self.version == 2:
            try:
                _write(os.path.join(self.dirs[0], "cgroup.kill"), "1")
            except OSError:
                pass
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.005)

    def remove(self):
        """Kill what is left, then remove the group."""
        self.kill_all()
        for _ in range(100):
            try:
                for d in self.dirs:
                    if os.path.isdir(d):
                        os.rmdir(d)
                return
            except OSError:  # the last processes are still exiting
                time.sleep(0.01)


def create(memory_bytes, processes):
    """A new cgroup with these limits, or None where this process may not make one."""
    own, mounts = _own_groups(), _mounts()
    name = f"codex-sandbox-{os.getpid()}-{secrets.token_hex(4)}"
    if "" in mounts and "" in own:
        group = _try([os.path.join(mounts[""] + own[""], name)], 2, memory_bytes, processes)
        if group is not None:
            return group
    if "memory" in mounts and "pids" in mounts and "memory" in own and "pids" in own:
        dirs = [os.path.join(mounts[c] + own[c], name) for c in ("memory", "pids")]
        return _try(dirs, 1, memory_bytes, processes)
    return None


def _try(dirs, version, memory_bytes, processes):
    made = []
    try:
        for d in dirs:
            os.mkdir(d, 0o755)
            made.append(d)
        if version == 2:
            d = dirs[0]
            _write(os.path.join(d, "memory.max"), str(memory_bytes))
            _write(os.path.join(d, "pids.max"), str(processes))
            if os.path.exists(os.path.join(d, "memory.swap.max")):
                _write(os.path.join(d, "memory.swap.max"), "0")
        else:
            mem, pids = dirs
            _write(os.path.join(mem, "memory.limit_in_bytes"), str(memory_bytes))
            memsw = os.path.join(mem, "memory.memsw.limit_in_bytes")
            if os.path.exists(memsw):
                _write(memsw, str(memory_bytes))
            _write(os.path.join(pids, "pids.max"), str(processes))
        return Group(dirs, version)
    except OSError:
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:
                pass
        return None


def available():
    """Whether this process can give a candidate a cgroup (makes and removes one)."""
    group = create(64 << 20, 8)
    if group is None:
        return False
    group.remove()
    return True
