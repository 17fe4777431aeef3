"""Which sandbox mode this kernel gives, and what it blocks (``codex-magic check --explain``).

The probe starts the real child with an empty job: it picks its mode exactly as for a
candidate and reports it on the set-up channel, then exits.
"""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
from typing import Any

from .confine import cgroup
from .process import force_remove, spawn
from .read import ProtocolError, Stream

BLOCKS = {
    "namespaces": [
        "network: its own empty network namespace, and no new sockets (seccomp)",
        "host Unix sockets: /run, /var/run, /tmp, /var/tmp, /home and $XDG_RUNTIME_DIR are "
        "covered by empty mounts, and no new sockets (seccomp)",
        "files: the whole file system read-only; writes only in a private tmpfs",
        "processes: its own PID namespace, so it sees and signals nothing outside; all of "
        "them die with it",
    ],
    "landlock": [
        "files (Landlock): reads only the system's and Python's directories; writes only in "
        "its work directory",
        "network and host Unix sockets: no new sockets (seccomp), TCP refused (Landlock)",
        "signals and abstract sockets (Landlock scopes): nothing outside its own processes",
        "processes: a child subreaper kills every descendant at the end, daemons included",
    ],
    "limits": [
        "rlimits: CPU time, memory per process, file size, open files, processes",
        "a scrubbed environment, stdin closed, the process group killed at the end",
    ],
}
NOT_BLOCKED = {
    "namespaces": ["reading files your uid can read outside the covered directories"],
    "landlock": ["reading the system's and Python's directories"],
    "limits": ["the network and host Unix sockets", "writing wherever your uid can",
               "signals to your other processes, and daemons that leave the session",
               "the kernel's whole system call interface"],
}


def probe(policy: str) -> dict[str, Any]:
    """{"mode", "why", "blocks", "not_blocked", "cgroup", "landlock_abi", "seccomp", ...}."""
    facts = _child_facts(policy)
    mode = facts.get("mode")
    has_cgroup = cgroup.available()
    root = os.geteuid() == 0
    info: dict[str, Any] = {
        "policy": policy, "mode": mode, "cgroup": has_cgroup, "root": root,
        "landlock_abi": facts.get("landlock_abi", 0), "seccomp": bool(facts.get("seccomp")),
        "arch": facts.get("arch", "?"), "notes": facts.get("notes", []),
    }
    if mode is None:
        info["why"] = facts.get("error") or _why_refused(policy, info)
        info["blocks"], info["not_blocked"] = [], []
        return info
    blocks = list(BLOCKS[mode])
    if mode != "limits" and info["seccomp"]:
        blocks.append("system calls (seccomp): io_uring, keyrings, ptrace, other processes' "
                      "memory, namespaces, mounts, BPF, perf, System V and POSIX IPC")
    blocks.append("keyrings: a fresh, empty session keyring")
    if root:
        blocks.append("privileges: runs as an unused uid with no groups")
    if has_cgroup:
        blocks.append("memory and processes: one cgroup limit for all its processes, tmpfs "
                      "and memfd pages included")
    elif mode != "limits" and info["seccomp"]:
        blocks.append("memory: no new processes and no memfd (seccomp), so the address-space "
                      "limit bounds the whole candidate")
    info["blocks"] = blocks
    info["not_blocked"] = list(NOT_BLOCKED[mode])
    if mode == "limits" and not has_cgroup:
        info["not_blocked"].append("memory: each process has its own address-space limit")
    if mode == "landlock" and info["landlock_abi"] < 6:
        info["not_blocked"].append("signals to your other processes (Landlock ABI < 6)")
    info["why"] = _why(policy, mode)
    return info


def _why(policy: str, mode: str) -> str:
    if policy == mode:
        return f"forced by the policy {policy!r}"
    if mode == "namespaces":
        return "namespaces are available"
    if mode == "landlock":
        return "namespaces are refused here; Landlock and seccomp are available"
    return "this kernel refuses namespaces and lacks Landlock or seccomp"


def _why_refused(policy: str, info: dict[str, Any]) -> str:
    if policy == "namespaces":
        return "this kernel refuses namespaces to this process"
    missing = [name for name, ok in (("Landlock", info["landlock_abi"] > 0),
                                     ("seccomp", info["seccomp"])) if not ok]
    return ("namespaces are refused here and " + " and ".join(missing) + " missing"
            if missing else "the sandbox could not confine itself")


def _child_facts(policy: str) -> dict[str, Any]:
    workdir = tempfile.mkdtemp(prefix="codex-sandbox-probe-")
    proc = None
    facts: dict[str, Any] = {}
    try:
        log_fd = os.open(os.devnull, os.O_WRONLY)
        try:
            proc, setup_r, res_r = spawn({"probe": True, "policy": policy}, workdir, log_fd,
                                          None)
        finally:
            os.close(log_fd)
        os.close(res_r)
        stream = Stream(setup_r, 1 << 16, 4)
        deadline = time.monotonic() + 30
        try:
            while not stream.eof and time.monotonic() < deadline:
                if select.select([setup_r], [], [], 0.5)[0]:
                    for msg in stream.feed():
                        facts.update(msg)
        except ProtocolError as e:
            facts = {"error": f"the sandbox's child answered badly: {e}"}
        finally:
            os.close(setup_r)
        if not facts:
            facts = {"error": "the sandbox's child did not start"}
    finally:
        if proc is not None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        force_remove(workdir)
    return facts
