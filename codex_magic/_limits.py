"""``codex_magic._limits``, kept for code that imports it: what this process may use is
``codex_magic.runtime.resources``."""

from .runtime import cgroup_memory, cpu_has_amx, cpu_quota, memory_room, usable_cores

__all__ = ["cgroup_memory", "cpu_has_amx", "cpu_quota", "memory_room", "usable_cores"]
