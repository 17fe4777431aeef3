"""What every stage relies on at run time: interrupts that are never lost
(``interrupts``), and what this process may use — cores, memory, CPU features — as the
kernel will enforce it (``resources``)."""

from . import interrupts, resources
from .resources import (
    Need,
    cgroup_memory,
    cpu_has_amx,
    cpu_quota,
    memory_room,
    thread_reserve,
    usable_cores,
)

__all__ = ["Need", "cgroup_memory", "cpu_has_amx", "cpu_quota", "interrupts", "memory_room",
           "resources", "thread_reserve", "usable_cores"]
