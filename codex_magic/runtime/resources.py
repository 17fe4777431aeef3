"""What this process may use: cores and memory, as the kernel will enforce them.

A notebook often runs in a container (Binder, a JupyterHub pod) that gets a
fraction of a big machine: the host's core count and free memory say little.
The limits that bite are the CPU affinity mask, the cgroup's CPU quota, the
address-space rlimit, the cgroup's memory limit and the memory actually free.
Both cgroup layouts are read: v2 (``cpu.max``, ``memory.max``) and v1
(``cpu.cfs_quota_us``, ``memory.limit_in_bytes``), including hybrids where
both are mounted. Every reader takes its root folders as arguments, so tests
lay out files as the kernel does and check the parsing.
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass
from pathlib import Path

from ..types import CodexError

_UNLIMITED = 1 << 62  # v1 reports "no limit" as a huge page-aligned number


def affinity_cores() -> int:
    """The cores this process may run on (not the machine's count, under a CPU mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def usable_cores(proc: str | Path = "/proc") -> int:
    """Cores worth running threads on: the affinity mask, capped by the CPU quota."""
    cores = affinity_cores()
    quota = cpu_quota(proc)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return cores


def cpu_quota(proc: str | Path = "/proc") -> float | None:
    """The cgroup CPU quota in cores (``cpu.max`` 150000 100000 → 1.5), or None."""
    best: float | None = None
    for kind, folder in _cgroup_folders(Path(proc), ("cpu",)):
        for f in _up_to_root(folder, kind):
            q = _read_quota(f, kind)
            if q is not None:
                best = q if best is None else min(best, q)
    return best


def _read_quota(folder: Path, kind: str) -> float | None:
    try:
        if kind == "v2":
            text = (folder / "cpu.max").read_text().split()
            if not text or text[0] == "max":
                return None
            return int(text[0]) / int(text[1] if len(text) > 1 else 100000)
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError, ZeroDivisionError):
        return None


@dataclass(frozen=True)
class Room:
    """How many more bytes one limit lets this process use."""

    what: str  # in the user's words, for the error message
    bytes: int
    virtual: bool  # counts address space (mapped files included), not resident memory


def memory_room(proc: str | Path = "/proc") -> list[Room]:
    """Each memory limit in force, with what is left under it."""
    proc = Path(proc)
    rooms = []
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = (_kb(proc / "self" / "status", "VmSize") or 0) * 1024
        rooms.append(Room(f"the address-space limit (ulimit -v, {_mb(soft)})", soft - used, True))
    limit = cgroup_memory(proc)
    if limit is not None:
        cap, used = limit
        rooms.append(Room(f"the container's memory limit ({_mb(cap)})", cap - used, False))
    avail = _kb(proc / "meminfo", "MemAvailable")
    if avail is not None:
        rooms.append(Room("the free memory of this machine", avail * 1024, False))
    return rooms


# Per thread llama.cpp or the sandbox starts: a glibc malloc arena (64 MB of address
# space) and its stack. Only address space: little of it becomes resident.
_THREAD_RESERVE = 72 << 20
# Graph metadata, backend buffers' padding, small allocations.
_SLACK = 96 << 20


def thread_reserve(threads: int) -> int:
    return threads * _THREAD_RESERVE


@dataclass(frozen=True)
class Need:
    """Memory an allocation will take: address space, and real (anonymous) memory."""

    virtual: int
    resident: int

    def check(self, what: str, advice: str) -> None:
        """Refuse with one line when a limit in force leaves too little room.

        Why refuse ourselves: llama.cpp reports most failed allocations (the model,
        the KV cache, the compute buffer) as errors, but a few small ones in between
        (ggml_init's metadata buffer: GGML_ASSERT(ctx->mem_buffer != NULL) in ggml.c,
        and C++ vectors whose std::bad_alloc ends in std::terminate) abort the whole
        process. Which one fails depends on where the limit falls: under RLIMIT_AS
        on an Intel Xeon, 450 MB stopped the model's own mapping (a clean error),
        475 MB failed ggml_init's buffer (abort), 500-725 MB the KV cache (clean) and
        750 MB a vector during decoding (abort); on an AMD EPYC, whose weights are
        repacked into a copy, 500 MB aborted. An estimate with a margin, checked
        before llama.cpp allocates, keeps every limit on the clean side.
        """
        for room in memory_room():
            need = (self.virtual if room.virtual else self.resident) + _SLACK
            if need > room.bytes:
                raise CodexError(
                    f"not enough memory for {what}: it needs about {need / 2**20:,.0f} MB and "
                    f"{room.what} leaves {max(room.bytes, 0) / 2**20:,.0f} MB; {advice}"
                )


def cgroup_memory(proc: str | Path = "/proc") -> tuple[int, int] | None:
    """The tightest cgroup memory limit over this process and its use, or None."""
    best: tuple[int, int] | None = None
    for kind, folder in _cgroup_folders(Path(proc), ("memory",)):
        for f in _up_to_root(folder, kind):
            names = (("memory.max", "memory.current") if kind == "v2"
                     else ("memory.limit_in_bytes", "memory.usage_in_bytes"))
            try:
                raw = (f / names[0]).read_text().strip()
                if raw == "max" or int(raw) >= _UNLIMITED:
                    continue
                cap, used = int(raw), int((f / names[1]).read_text())
            except (OSError, ValueError):
                continue
            if best is None or cap - used < best[0] - best[1]:
                best = (cap, used)
    return best


def _cgroup_folders(proc: Path, controllers: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(layout, folder) of this process's cgroup for the controllers, v2 and v1."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
        mounts = (proc / "self" / "mountinfo").read_text().splitlines()
    except OSError:
        return []
    # A mount shows the subtree from its root (field 4) at its mount point (field 5).
    v2: tuple[str, Path] | None = None
    v1: dict[str, tuple[str, Path]] = {}
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount = (fields[3], Path(fields[4]))
        if tail[0] == "cgroup2":
            v2 = v2 or mount
        elif tail[0] == "cgroup":
            for opt in tail[2].split(","):
                v1.setdefault(opt, mount)
    out = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, names, path = parts
        if names == "" and v2 is not None:
            out.append(("v2", _inside(v2, path)))
            continue
        for c in controllers:
            if c in names.split(",") and c in v1:
                out.append(("v1", _inside(v1[c], path)))
    return out


def _inside(mount: tuple[str, Path], path: str) -> Path:
    root, point = mount
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root):]
    return point / path.lstrip("/")


def _up_to_root(folder: Path, kind: str) -> list[Path]:
    """The folder and its ancestors inside the cgroup mount: limits are hierarchical."""
    out = [folder]
    parent = folder.parent
    while parent != folder and (parent / ("cgroup.controllers" if kind == "v2"
                                          else "cgroup.procs")).exists():
        out.append(parent)
        folder, parent = parent, parent.parent
    return out


def _kb(path: Path, key: str) -> int | None:
    """A "Key:  123 kB" line of /proc/self/status or /proc/meminfo, in kB."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def cpu_has_amx(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU has AMX tiles (recent Intel Xeons), from /proc/cpuinfo's flags."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_tile" in line.split()
    except OSError:
        pass
    return False
