"""The limits a sandboxed candidate runs under: one value the parent sends the child."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 1 << 30  # the whole candidate's, where a cgroup is available
    file_bytes: int = 16 << 20
    open_files: int = 64
    processes: int = 16  # beyond what the user already runs, when not root and no cgroup
    output_chars: int = 16384  # kept per example
    log_bytes: int = 8192  # kept of what the process wrote to its stdout/stderr
