"""Landlock by system call numbers (no library): what the candidate may read and write.

The ruleset handles every file right the kernel's ABI knows, so only what is granted
here is possible: reading and executing the system's and Python's directories, and
reading, writing, creating and removing in the work directory. From ABI 4 it handles TCP
bind and connect with no port granted; from ABI 6 it scopes abstract Unix sockets and
signals, so the candidate cannot signal or connect to any process outside its own domain.
"""

import ctypes
import errno
import os

from . import syscalls

CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 16, 32, 64, 128
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 256, 512, 1024, 2048, 4096
REFER, TRUNCATE, IOCTL_DEV = 8192, 16384, 32768
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
              5: (1 << 16) - 1}
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
WORK = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM \
    | MAKE_FIFO | MAKE_SOCK | REFER | TRUNCATE

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
               "/proc", "/sys")


def abi():
    """The kernel's Landlock ABI version, 0 where Landlock is missing or disabled."""
    try:
        return int(syscalls.syscall("landlock_create_ruleset", ctypes.c_void_p(None),
                                  ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION)))
    except OSError:
        return 0


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def restrict(workdir, readable, version):
    """Restrict this process (no_new_privs must be set) to ``readable`` paths for reading
    and ``workdir`` for everything; returns what was scoped. Raises OSError."""
    fs = _FS_BY_ABI.get(min(version, 5), 0)
    if not fs:
        raise OSError(errno.ENOSYS, "Landlock is not available")
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 24 if version >= 6 else 16 if version >= 4 else 8
    ruleset = syscalls.syscall("landlock_create_ruleset", ctypes.byref(attr),
                             ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path, rights in [(p, READ) for p in readable] + [("/dev/null", READ_FILE | WRITE_FILE),
                                                            (workdir, WORK)]:
            _allow(ruleset, path, rights & fs)
        syscalls.syscall("landlock_restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    scoped = ["files"]
    if version >= 4:
        scoped.append("tcp")
    if version >= 6:
        scoped += ["abstract unix sockets", "signals"]
    return scoped


def _allow(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a directory this system does not have
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        syscalls.syscall("landlock_add_rule", ctypes.c_int(ruleset),
                       ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)
