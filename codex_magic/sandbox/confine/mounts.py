"""Namespaces and the candidate's view of the file system (the "namespaces" mode).

In new mount, network, IPC and PID namespaces, PID 1 of the sandbox makes every mount
read-only, mounts a fresh /proc, covers the places where host sockets and other users'
files live (/run, /var/run, /tmp, /var/tmp, /home, $XDG_RUNTIME_DIR and, as root,
private directories such as /root) with empty read-only tmpfs, puts back only the Python
installation where it lies under one of them, and mounts a small private tmpfs, owned
by the sandbox's uid, over the work directory.
"""

import ctypes
import os
import sys

from . import syscalls
from .syscalls import libc

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 32, 1024, 2048, 4096, 8192, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24

COVERED = ("/run", "/var/run", "/tmp", "/var/tmp", "/home")


def unshare(flags):
    return libc.unshare(ctypes.c_int(flags)) == 0


def mount(src, target, fstype, flags, data=None):
    def enc(s):
        return None if s is None else s.encode()
    return libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) == 0


def _write_file(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError:
        return False


def enter_namespaces():
    """New mount, network, IPC and PID namespaces (and a user namespace when not root)."""
    base = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID
    uid, gid = os.getuid(), os.getgid()
    if os.geteuid() == 0 and unshare(base):
        return True
    if unshare(base | CLONE_NEWUSER):
        _write_file("/proc/self/setgroups", "deny")
        _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
        _write_file("/proc/self/gid_map", f"{gid} {gid} 1")
        return True
    return False


def _mount_flags(options):
    flags = 0
    for opt, bit in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC),
                     ("noatime", MS_NOATIME), ("nodiratime", MS_NODIRATIME),
                     ("relatime", MS_RELATIME), ("strictatime", MS_STRICTATIME)):
        if opt in options:
            flags |= bit
    return flags


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


def python_paths():
    """The directories this Python needs: its installation and everything on sys.path."""
    keep = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    keep |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    # The interpreter as it was started (a venv reached through a symlink, say): a
    # candidate that starts sys.executable must find it where it was.
    keep.add(os.path.dirname(os.path.abspath(sys.executable)))
    return sorted(keep)


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


OPEN_TREE_CLONE, AT_RECURSIVE, MOVE_MOUNT_F_EMPTY_PATH, AT_FDCWD = 1, 0x8000, 4, -100


def _clone_tree(path):
    """A detached copy of the mounts at ``path`` (open_tree), to put back after covering."""
    return syscalls.syscall("open_tree", ctypes.c_int(AT_FDCWD), path.encode(),
                          ctypes.c_uint(OPEN_TREE_CLONE | AT_RECURSIVE | os.O_CLOEXEC))


def _attach(fd, path):
    syscalls.syscall("move_mount", ctypes.c_int(fd), b"", ctypes.c_int(AT_FDCWD), path.encode(),
                   ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH))


def cover(dirs, workdir, notes):
    """Mount an empty tmpfs over each of ``dirs``, with the Python directories inside them
    put back and the work directory's mount point made (read-only comes later)."""
    python = python_paths()
    python = [p for p in python if not any(_inside(p, q) and p != q for q in python)]
    done = []
    for folder in dirs:
        if any(_inside(folder, d) for d in done) or not os.path.isdir(folder):
            continue
        inside = [p for p in python if _inside(p, folder) and p != folder]
        try:
            trees = [(p, _clone_tree(p)) for p in inside]
        except OSError as e:
            notes.append(f"{folder} not covered: {e.strerror}")
            continue
        try:
            if not mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755"):
                notes.append(f"{folder} not covered")
                continue
            done.append(folder)
            for p, fd in trees:
                os.makedirs(p, exist_ok=True)
                _attach(fd, p)
            if _inside(workdir, folder):
                os.makedirs(workdir, mode=0o700, exist_ok=True)
        finally:
            for _, fd in trees:
                os.close(fd)


def confine_files(workdir, uid, tmpfs_bytes, notes, xdg_runtime=None):
    """Host sockets and homes covered, everything read-only, and a fresh tmpfs at the work
    directory that belongs to ``uid`` (the uid the candidate will run as)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    if not mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY):
        notes.append("host /proc visible")
    dirs = [os.path.realpath(d) for d in COVERED + ((xdg_runtime,) if xdg_runtime else ())]
    if os.geteuid() == 0:
        dirs += [a for a in map(_hidden_ancestor, python_paths()) if a is not None]
    cover(sorted(set(dirs), key=len), workdir, notes)
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
    except OSError:
        mounts = []
    failed = 0
    for fields in mounts:
        point = fields[4].encode().decode("unicode_escape")
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(fields[5].split(","))
        if not mount(None, point, None, flags):
            failed += 1
    if failed:
        notes.append(f"{failed} mounts left writable")
    if not mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
                 f"size={tmpfs_bytes},mode=0700,uid={uid},gid={uid}"):
        notes.append("work directory not a private tmpfs")
