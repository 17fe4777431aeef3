"""What the process may use: CPU kinds, cgroup quotas (v1 and v2 layouts), memory room.

The machines this runs on change from day to day (Intel Xeon with AMX, AMD EPYC),
so the CPU-dependent paths are explicit: the parsing is tested on /proc/cpuinfo
samples of both kinds, and the tests that need one kind of CPU say so when skipped.
"""

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codex_magic.runtime import resources as _limits
from codex_magic.runtime.resources import cpu_has_amx, cpu_quota, memory_room, usable_cores
from tests.engines.test_engine import draw

XEON_AMX = textwrap.dedent("""\
    processor	: 0
    vendor_id	: GenuineIntel
    model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
    flags		: fpu sse sse2 avx avx2 avx512f avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8
    bugs		: spectre_v1

    processor	: 1
    vendor_id	: GenuineIntel
    flags		: fpu sse sse2 avx avx2 avx512f avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8
""")
EPYC = textwrap.dedent("""\
    processor	: 0
    vendor_id	: AuthenticAMD
    model name	: AMD EPYC 7B13
    flags		: fpu vme de pse sse sse2 ht syscall avx f16c avx2 sha_ni clzero xsaveerptr
    bugs		: sysret_ss_attrs spectre_v1 spectre_v2
""")
# A flag that merely contains the name must not count.
LOOKALIKE = "flags		: fpu amx_tile_disabled xamx_tile\n"


@pytest.mark.parametrize(("text", "amx"), [(XEON_AMX, True), (EPYC, False), (LOOKALIKE, False),
                                           ("", False)], ids=["xeon", "epyc", "lookalike", "empty"])
def test_cpu_has_amx_reads_cpuinfo_of_both_kinds(tmp_path, text, amx):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    assert cpu_has_amx(path) is amx


def test_cpu_has_amx_without_cpuinfo(tmp_path):
    assert cpu_has_amx(tmp_path / "missing") is False


HERE_AMX = cpu_has_amx()


@pytest.mark.skipif(not HERE_AMX, reason="needs an Intel CPU with AMX (this one has none)")
def test_on_an_amx_cpu_the_weights_are_not_repacked(tiny_engine):
    # llama.cpp's AMX repacking crashed in ggml_backend_amx_mul_mat on these CPUs.
    assert tiny_engine.repack is False
    assert draw(tiny_engine, "def f(x):\n", n=2, temperature=0.5, max_tokens=4, seed=1)


@pytest.mark.skipif(HERE_AMX, reason="needs a CPU without AMX, e.g. AMD EPYC (this one has AMX)")
def test_without_amx_the_weights_are_repacked_and_the_copy_is_counted(tiny_engine):
    assert tiny_engine.repack is True
    assert draw(tiny_engine, "def f(x):\n", n=2, temperature=0.5, max_tokens=4, seed=1)


# -- cgroups, laid out as the kernel lays them out -------------------------------------------


def _proc(tmp: Path, cgroup: str, mountinfo: str) -> Path:
    proc = tmp / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup)
    (proc / "self" / "mountinfo").write_text(mountinfo.format(root=tmp))
    (proc / "self" / "status").write_text("VmSize:\t  204800 kB\n")
    (proc / "meminfo").write_text("MemTotal: 8000000 kB\nMemAvailable:  4000000 kB\n")
    return proc


def _write(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text)


def test_cgroup_v2_cpu_and_memory(tmp_path):
    proc = _proc(tmp_path, "0::/user.slice/pod\n",
                 "30 23 0:26 / {root}/cg rw - cgroup2 cgroup2 rw\n")
    _write(tmp_path / "cg", cgroup__controllers="cpu memory", cpu__max="max 100000",
           memory__max="max", memory__current="1")
    _write(tmp_path / "cg/user.slice", cgroup__controllers="cpu memory",
           cpu__max="300000 100000", memory__max="max", memory__current="1")
    _write(tmp_path / "cg/user.slice/pod", cgroup__controllers="cpu memory",
           cpu__max="150000 100000", memory__max=str(2 << 30), memory__current=str(512 << 20))
    assert cpu_quota(proc) == 1.5  # the tightest of the pod and its parents
    assert _limits.cgroup_memory(proc) == (2 << 30, 512 << 20)
    rooms = {r.what.split(" (")[0]: r for r in memory_room(proc)}
    assert rooms["the container's memory limit"].bytes == (2 << 30) - (512 << 20)
    assert rooms["the free memory of this machine"].bytes == 4000000 * 1024


def test_cgroup_v1_hybrid_cpu_and_memory(tmp_path):
    proc = _proc(tmp_path,
                 "12:cpu,cpuacct:/kubepods/pod1\n4:memory:/kubepods/pod1\n0::/\n",
                 "31 23 0:28 / {root}/fs rw - tmpfs tmpfs rw\n"
                 "32 31 0:29 / {root}/fs/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                 "35 31 0:32 / {root}/fs/memory rw - cgroup cgroup rw,memory\n"
                 "41 31 0:38 / {root}/fs/unified rw - cgroup2 cgroup2 rw\n")
    _write(tmp_path / "fs/cpu,cpuacct", cgroup__procs="", cpu__cfs_quota_us="-1",
           cpu__cfs_period_us="100000")
    _write(tmp_path / "fs/cpu,cpuacct/kubepods/pod1", cgroup__procs="",
           cpu__cfs_quota_us="50000", cpu__cfs_period_us="100000")
    _write(tmp_path / "fs/memory", cgroup__procs="",
           memory__limit_in_bytes="9223372036854771712", memory__usage_in_bytes="5")
    _write(tmp_path / "fs/memory/kubepods/pod1", cgroup__procs="",
           memory__limit_in_bytes=str(1 << 30), memory__usage_in_bytes=str(100 << 20))
    _write(tmp_path / "fs/unified", cgroup__controllers="")  # the hybrid's empty v2 side
    assert cpu_quota(proc) == 0.5
    assert usable_cores(proc) == 1  # half a core still runs one thread
    assert _limits.cgroup_memory(proc) == (1 << 30, 100 << 20)


def test_no_limits_anywhere(tmp_path):
    proc = _proc(tmp_path, "0::/\n", "30 23 0:26 / {root}/cg rw - cgroup2 cgroup2 rw\n")
    _write(tmp_path / "cg", cgroup__controllers="cpu memory", cpu__max="max 100000",
           memory__max="max", memory__current="7")
    assert cpu_quota(proc) is None
    assert _limits.cgroup_memory(proc) is None
    assert usable_cores(proc) == _limits.affinity_cores()


def test_a_mount_of_a_subtree_is_followed(tmp_path):
    # In a container the cgroup file system is often mounted from the pod's own folder.
    proc = _proc(tmp_path, "0::/kubepods/pod1/ctr\n",
                 "30 23 0:26 /kubepods/pod1 {root}/cg rw - cgroup2 cgroup2 rw\n")
    _write(tmp_path / "cg", cgroup__controllers="cpu", cpu__max="max 100000")
    _write(tmp_path / "cg/ctr", cgroup__controllers="cpu", cpu__max="200000 100000")
    assert cpu_quota(proc) == 2.0


def test_garbage_in_cgroup_files_is_no_limit(tmp_path):
    proc = _proc(tmp_path, "0::/a\nnot a line\n",
                 "garbage\n30 23 0:26 / {root}/cg rw - cgroup2 cgroup2 rw\n")
    _write(tmp_path / "cg/a", cgroup__controllers="cpu memory", cpu__max="lots 0",
           memory__max="much", memory__current="?")
    assert cpu_quota(proc) is None
    assert _limits.cgroup_memory(proc) is None


def test_address_space_limit_is_reported_with_what_is_left():
    code = ("import resource; from codex_magic.runtime.resources import memory_room\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "r = [r for r in memory_room() if r.virtual][0]\n"
            "print(r.what, 0 < r.bytes < (3 << 30))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ulimit -v, 3,072 MB" in out.stdout and out.stdout.strip().endswith("True")
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY
