"""The sandbox: candidates' code runs here, never in the kernel.

``runner`` is the parent's side that callers use (``run_doctests``, ``run_tests``,
``run_candidates``, the policy); ``process`` starts and ends one child, ``read`` reads
its pipes under caps, ``verdict`` compares what it reported with the expected outputs
(in the parent), ``hidden_tests`` judges hidden tests outside the candidate, ``probe``
says which mode this machine gives; ``child`` is the child process itself (run as
``python -I``, importing nothing of codex_magic) and ``confine`` what it confines itself
with (namespaces, Landlock, seccomp, cgroups).
"""

from .limits import Limits
from .runner import (
    LIMITS_ONLY,
    POLICIES,
    configure,
    describe,
    mode_notice,
    policy,
    run_candidates,
    run_doctests,
    run_tests,
)

__all__ = ["LIMITS_ONLY", "POLICIES", "Limits", "configure", "describe", "mode_notice",
           "policy", "run_candidates", "run_doctests", "run_tests"]
