"""System calls that the standard library does not wrap, by number, for x86_64 and aarch64."""

import ctypes
import os
import platform
import signal

# From the kernel's uapi headers (asm/unistd_64.h on x86_64, asm-generic/unistd.h on aarch64).
_NUMBERS = {
    "x86_64": {
        "socket": 41, "clone": 56, "fork": 57, "vfork": 58, "clone3": 435, "prctl": 157,
        "keyctl": 250, "add_key": 248, "request_key": 249, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "process_madvise": 440,
        "pidfd_getfd": 438, "kcmp": 312, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
        "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442, "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176,
        "open_by_handle_at": 304, "memfd_create": 319, "memfd_secret": 447,
        "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65,
        "semctl": 66, "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70,
        "msgctl": 71, "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242,
        "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245, "acct": 163,
        "swapon": 167, "swapoff": 168, "reboot": 169, "quotactl": 179, "quotactl_fd": 443,
        "lookup_dcookie": 212, "fanotify_init": 300, "seccomp": 317,
        "landlock_create_ruleset": 444, "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
    "aarch64": {
        "socket": 198, "clone": 220, "clone3": 435, "prctl": 167,
        "keyctl": 219, "add_key": 217, "request_key": 218, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "process_madvise": 440,
        "pidfd_getfd": 438, "kcmp": 272, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
        "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442, "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106,
        "open_by_handle_at": 265, "memfd_create": 279, "memfd_secret": 447,
        "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197, "semget": 190,
        "semop": 193, "semctl": 191, "semtimedop": 192, "msgget": 186, "msgsnd": 189,
        "msgrcv": 188, "msgctl": 187, "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182,
        "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185, "acct": 89,
        "swapon": 224, "swapoff": 225, "reboot": 142, "quotactl": 60, "quotactl_fd": 443,
        "lookup_dcookie": 18, "fanotify_init": 262, "seccomp": 277,
        "landlock_create_ruleset": 444, "landlock_add_rule": 445,
        "landlock_restrict_self": 446,
    },
}
# AUDIT_ARCH_* values, which seccomp reports in seccomp_data.arch.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

ARCH = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(),
                                                  platform.machine().lower())
NUMBERS = _NUMBERS.get(ARCH, {})

PR_SET_PDEATHSIG = 1
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
KEYCTL_JOIN_SESSION_KEYRING = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def syscall(name, *args):
    """The raw system call ``name``; returns its result or raises OSError."""
    nr = NUMBERS.get(name)
    if nr is None:
        raise OSError(38, f"{name}: no system call number for {ARCH}")
    result = libc.syscall(ctypes.c_long(nr), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def prctl(option, arg=0):
    if libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0),
                  ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def seccomp_available():
    """Whether this kernel can filter system calls (PR_GET_SECCOMP fails with EINVAL if not)."""
    if ARCH not in AUDIT_ARCH:
        return False
    try:
        prctl(PR_GET_SECCOMP)
    except OSError:
        return False
    return True


def join_fresh_session_keyring():
    """Replace the session keyring by a new anonymous one: the user's keys are out of reach."""
    syscall("keyctl", ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), ctypes.c_void_p(None))


def children_of(pid):
    """Direct children of ``pid``, read from /proc (all its threads' children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            if len(fields) > 1 and int(fields[1]) == pid:
                found.append(int(entry))
    return found


def kill_descendants(rounds=200):
    """As a child subreaper: kill and reap every descendant, including those that left the
    session or double-forked (orphans come back to this process when their parent dies)."""
    me = os.getpid()
    for _ in range(rounds):
        kids = children_of(me)
        if not kids:
            return
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
            except OSError:
                pass
        for kid in kids:
            try:
                os.waitpid(kid, 0)
            except ChildProcessError:
                pass


PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4
# NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE and their locks; KEEP_CAPS locked off.
SECURE_ALL = 0x03 | 0x0C | 0x20 | 0xC0


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    """Stay uid 0 but with no capability, now or after any execve (securebits locked)."""
    prctl(PR_SET_SECUREBITS, SECURE_ALL)
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            break
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def readable_by_others(path):
    """Whether a uid without privileges could reach ``path`` (every folder above it +x)."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    cur = ""
    for part in parts[:-1]:
        cur += os.sep + part
        try:
            if not os.stat(cur).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True
