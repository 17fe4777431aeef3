"""A seccomp filter for candidate code, written as classic BPF by hand (no libseccomp).

The filter first checks the architecture: a system call made through another ABI (i386
``int 0x80`` on x86_64, the x32 ABI, a foreign arch) kills the process, so the numbers
below cannot be bypassed. Then it refuses, with EPERM:

- new sockets of any family (``socket``): no Unix socket by path or abstract name, no
  TCP/UDP, netlink or packet socket; ``socketpair`` stays, for code that talks to itself;
- ``io_uring`` (it can open and connect sockets without calling ``socket``);
- the keyrings (``keyctl``, ``add_key``, ``request_key``);
- other processes' memory and files (``ptrace``, ``process_vm_*``, ``pidfd_getfd``, ...);
- namespaces and mounts (``unshare``, ``setns``, ``clone`` with CLONE_NEW* flags, ``mount``
  and the new mount API), kernel modules, kexec, BPF, perf, userfaultfd, swap, reboot;
- System V and POSIX message/shared-memory IPC, which outlives the process and is shared
  with the host's processes of the same user outside an IPC namespace;
- clearing the parent-death signal (``prctl(PR_SET_PDEATHSIG)``), which ties the
  candidate's life to its supervisor;
- when ``forks`` is False: new processes (``fork``, ``vfork``, ``clone`` without
  CLONE_THREAD) and ``memfd_create``, so that RLIMIT_AS bounds all the candidate's memory
  when no cgroup can.

``clone3`` answers ENOSYS: its flags are in memory that BPF cannot read, and glibc then
falls back to ``clone``, whose flags the filter checks.
"""

import ctypes
import errno
import struct

from . import syscalls

DENIED = (
    "socket", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key",
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
    "unshare", "setns", "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "userfaultfd", "open_by_handle_at", "fanotify_init",
    "acct", "swapon", "swapoff", "reboot", "quotactl", "quotactl_fd", "lookup_dcookie",
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop",
    "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr", "memfd_secret",
)
DENIED_WITHOUT_FORKS = ("fork", "vfork", "memfd_create")

CLONE_THREAD = 0x00010000
CLONE_NEW_ANY = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (low 32 bits of args[0])
_X32_SYSCALL_BIT = 0x40000000
SECCOMP_SET_MODE_FILTER = 1


def _ins(code, k=0, jt=0, jf=0):
    return (code, jt, jf, k)


def build(forks):
    """The filter's instructions as (code, jt, jf, k) tuples."""
    nr = syscalls.NUMBERS
    deny = _ins(_RET, _RET_ERRNO | errno.EPERM)
    allow = _ins(_RET, _RET_ALLOW)
    prog = [
        _ins(_LD_W_ABS, _ARCH),
        _ins(_JEQ, syscalls.AUDIT_ARCH[syscalls.ARCH], jt=1),
        _ins(_RET, _RET_KILL_PROCESS),
        _ins(_LD_W_ABS, _NR),
    ]
    if syscalls.ARCH == "x86_64":
        prog += [_ins(_JGE, _X32_SYSCALL_BIT, jf=1), _ins(_RET, _RET_KILL_PROCESS)]
    names = DENIED + (() if forks else DENIED_WITHOUT_FORKS)
    for name in names:
        if name in nr:
            prog += [_ins(_JEQ, nr[name], jf=1), deny]
    prog += [_ins(_JEQ, nr["clone3"], jf=1), _ins(_RET, _RET_ERRNO | errno.ENOSYS)]
    # clone: no new namespaces; without forks, threads only.
    clone = [_ins(_LD_W_ABS, _ARG0), _ins(_JSET, CLONE_NEW_ANY, jf=1), deny]
    if not forks:
        clone += [_ins(_JSET, CLONE_THREAD, jt=1), deny]
    clone.append(allow)
    prog += [_ins(_JEQ, nr["clone"], jf=len(clone)), *clone]
    # prctl: the parent-death signal stays as the supervisor set it.
    pr = [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ, syscalls.PR_SET_PDEATHSIG, jf=1), deny, allow]
    prog += [_ins(_JEQ, nr["prctl"], jf=len(pr)), *pr]
    prog.append(allow)
    return prog


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(forks):
    """Load the filter into this process (no_new_privs must be set). Raises OSError."""
    if syscalls.ARCH not in syscalls.AUDIT_ARCH:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {syscalls.ARCH}")
    prog = build(forks)
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    syscalls.syscall("seccomp", ctypes.c_ulong(SECCOMP_SET_MODE_FILTER), ctypes.c_ulong(0),
                   ctypes.byref(fprog))
