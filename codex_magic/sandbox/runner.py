"""Running untrusted candidates' doctests, never in the kernel.

Each candidate runs in a fresh ``python -I`` subprocess (``sandbox/child.py``) that
confines itself before any candidate code exists in it, in the strongest mode the
kernel and the policy allow (``describe()`` says which, ``docs/security.md`` what each
blocks):

- "namespaces": new PID, mount, network and IPC namespaces, a read-only file system
  with host socket and home directories covered, a private tmpfs work directory;
- "landlock": where namespaces are refused (containers, most hosted Jupyter), Landlock
  (read the system and Python, write only the work directory, no signals or abstract
  sockets outside) and a child subreaper that kills every descendant at the end;
- "limits": rlimits, a scrubbed environment and process clean-up only.

In the first two, a seccomp filter refuses new sockets, io_uring, keyrings, ptrace and
namespaces to candidate code. In every mode the candidate gets a fresh session keyring,
an unused uid when started as root, and one cgroup with a memory and a process limit
where this process may make one (without one, seccomp forbids new processes so that
RLIMIT_AS bounds the whole candidate). What each example printed and raised comes back
over a pipe that the parent reads under caps; the comparison with the expected output
happens here, in the parent.

The policy: ``configure("auto" | "strict" | "namespaces" | "landlock" | "limits")``,
else ``$CODEX_MAGIC_SANDBOX``, else "auto". "strict" runs nothing in the "limits" mode
(``CodexError``); a named mode runs in that mode or not at all.
"""

from __future__ import annotations

import doctest
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from ..options import SANDBOX_POLICIES
from ..runtime import usable_cores
from ..types import CodexError, Doctest, Failure, Verdict
from . import hidden_tests
from .limits import Limits
from .process import run_child
from .read import ChildRun
from .verdict import doctest_verdict, early_verdict, ended, status

POLICIES = SANDBOX_POLICIES
LIMITS_ONLY = "candidates run with limits only"


_policy: str | None = None
_described: dict[str, dict[str, Any]] = {}
_noticed = False


def configure(policy: str | None) -> None:
    """Set the sandbox policy for this process (None: back to $CODEX_MAGIC_SANDBOX/auto)."""
    global _policy
    if policy is not None and policy not in POLICIES:
        raise CodexError(f"sandbox policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    _policy = policy


def policy() -> str:
    """The policy in force: configure()'s, else $CODEX_MAGIC_SANDBOX's, else "auto"."""
    chosen = _policy or os.environ.get("CODEX_MAGIC_SANDBOX", "").strip().lower() or "auto"
    if chosen not in POLICIES:
        raise CodexError(f"CODEX_MAGIC_SANDBOX must be one of {', '.join(POLICIES)}, "
                         f"got {chosen!r}")
    return chosen


def describe() -> dict[str, Any]:
    """The mode the policy gets on this kernel and what it blocks (cached per policy)."""
    from .probe import probe

    p = policy()
    if p not in _described:
        _described[p] = probe(p)
    return _described[p]


def mode_notice() -> str | None:
    """Once per process: a line for the user when candidates run with limits only."""
    global _noticed
    if _noticed:
        return None
    _noticed = True
    info = describe()
    return f"note: {LIMITS_ONLY} ({info['why']})" if info["mode"] == "limits" else None


def _require_mode() -> str:
    """The policy, after refusing up front what it forbids on this kernel."""
    p = policy()
    if p != "auto":
        info = describe()
        if info["mode"] is None:
            raise CodexError(f"the sandbox policy is {p!r} but {info['why']}: candidates "
                             "were not run (set the policy to 'auto' to run them anyway)")
    return p


def run_doctests(program: str, doctests: Sequence[Doctest], timeout: float,
                 limits: Limits | None = None, cancel: threading.Event | None = None) -> Verdict:
    """Run ``program`` then each example in one sandboxed process; compare here.

    ``cancel`` (or an interrupt) stops it at once: everything it started is killed.
    """
    if not doctests:
        return Verdict(passed=0, total=0, status="no tests")
    p = _require_mode()
    try:
        run = run_child(program, [d.source for d in doctests], "single", timeout,
                        limits or Limits(), p, cancel)
        return doctest_verdict(doctests, run)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return Verdict(0, len(doctests), (), "sandbox error", f"{type(e).__name__}: {e}")


def run_tests(program: str, test_code: str, timeout: float,
              limits: Limits | None = None) -> Verdict:
    """Run ``program`` then ``test_code`` (HumanEval's ``check(candidate)`` and its call).

    Pass = no assert fails, as in HumanEval. Where the test can be taken apart
    (``_hidden_tests``), the asserts run here on the values the candidate's calls
    returned, so the verdict cannot be forged; otherwise the test runs in the candidate's
    process and a pass has the status "unverifiable" (count those apart).
    """
    p = _require_mode()
    limits = limits or Limits()
    plan = hidden_tests.make_plan(test_code)
    try:
        if plan is None:
            return _unverified(program, test_code, timeout, limits, p)
        run = run_child(program, list(plan.calls), "calls", timeout, limits, p)
        return _planned_verdict(plan, run)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return Verdict(0, 1, (), "sandbox error", f"{type(e).__name__}: {e}")


def _unverified(program: str, test_code: str, timeout: float, limits: Limits,
                p: str) -> Verdict:
    # Whatever the program prints is not part of the verdict (HumanEval's rule): the
    # expected output is "...", which ELLIPSIS matches with any output, none included.
    test = Doctest(source=test_code, want="...", options={doctest.ELLIPSIS: True})
    v = doctest_verdict([test], run_child(program, [test_code], "exec", timeout, limits, p))
    if v.all_passed:
        return Verdict(v.passed, v.total, v.failures, "unverifiable",
                       "the test ran inside the candidate's process", v.seconds)
    return v


def _planned_verdict(plan: hidden_tests.Plan, run: ChildRun) -> Verdict:
    early = early_verdict(1, run)
    if early is not None:
        return early
    results = {m["i"]: m for m in run.messages if m["kind"] == "value"}
    try:
        ok, source, got, why = hidden_tests.judge(plan, results)
    except (ValueError, RecursionError, MemoryError) as e:
        return Verdict(0, 1, (), "protocol error", f"a value that cannot be read: {e}",
                       run.seconds)
    if why == "no result":
        why = ended(run)
    failures = () if ok else (Failure(source, "(hidden)", got, why),)
    detail = f"{len(plan.calls)} calls checked outside the candidate's process"
    return Verdict(int(ok), 1, failures, status(run, failures), detail, run.seconds)


def run_candidates(programs: Sequence[str], doctests: Sequence[Doctest], timeout: float,
                   limits: Limits | None = None, workers: int | None = None,
                   on_done: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
    """``run_doctests`` for each program, in parallel over the usable cores."""
    if not programs:
        return []
    if doctests:
        _require_mode()  # refuse before starting anything
    workers = workers or usable_cores()
    results: list[Verdict | None] = [None] * len(programs)
    # on_done runs in the calling thread: it may update a widget, and a kernel's output
    # channel should not be written from short-lived worker threads.
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(programs)))) as pool:
        futures = {pool.submit(run_doctests, program, doctests, timeout, limits): i
                   for i, program in enumerate(programs)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done is not None:
                on_done(i, future.result())
    return [r for r in results if r is not None]
