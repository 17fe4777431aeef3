"""Checking candidates: each one's doctests, as soon as its body is known.

A candidate is tested the moment its sequence stops, while the others still
decode, so the ranked result is ready shortly after the last token. What needs
no run (an empty body, code that does not parse) gets its verdict at once;
identical bodies (up to whitespace) run once; the rest run in the sandbox, one
process per candidate, as many at a time as there are usable cores.
"""

from __future__ import annotations

import ast
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from . import sandbox
from .options import Options
from .prompt import build_program, normalise
from .runtime import interrupts, usable_cores
from .types import Progress, ProgressFn, Task, Verdict


class Checker:
    """Verdicts for the bodies given to ``submit``, collected by ``verdicts``."""

    def __init__(self, task: Task, options: Options, report: ProgressFn) -> None:
        self.task, self.timeout, self.report = task, options.timeout, report
        self.run_tests = options.tests and bool(task.doctests)
        sandbox.configure(options.sandbox)
        self._found: dict[str, Verdict | Future[Verdict]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._cancel = threading.Event()
        self.finished_at: dict[str, float] = {}  # key -> when its sandbox run ended
        self.runs = 0  # sandbox runs started

    def submit(self, body: str) -> None:
        """Start checking ``body`` (at once, in the background), unless already known."""
        key = normalise(body)
        if key in self._found:
            return
        static = _static_verdict(self.task, body, len(self.task.doctests)
                                 if self.run_tests else 0)
        if static is not None or not self.run_tests:
            self._found[key] = static or Verdict(0, 0, (), "no tests")
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=usable_cores(),
                                            thread_name_prefix="codex-check")
        future = self._pool.submit(sandbox.run_doctests, build_program(self.task, body),
                                   self.task.doctests, self.timeout, None, self._cancel)
        def finished(_f: Future[Verdict], k: str = key) -> None:
            self.finished_at.setdefault(k, time.perf_counter())

        future.add_done_callback(finished)
        self._found[key] = future
        self.runs += 1

    def verdicts(self, bodies: list[str]) -> list[Verdict]:
        """A verdict per body, in order, once every run has ended (interruptible)."""
        for body in bodies:
            self.submit(body)
        pending = {v for v in self._found.values() if isinstance(v, Future)}
        total = len(pending)
        if total:
            self.report(Progress("testing", total - len(pending - _done(pending)), total))
        while pending:
            interrupts.phase("tests-running")
            finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if finished:
                self.report(Progress("testing", total - len(pending), total))
        return [self._verdict(normalise(body)) for body in bodies]

    def _verdict(self, key: str) -> Verdict:
        found = self._found[key]
        return found.result() if isinstance(found, Future) else found

    def close(self) -> None:
        """Stop: what has not started never starts, runs under way are killed (their
        processes and work folders gone) before this returns."""
        if self._pool is not None:
            self._cancel.set()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _done(futures: set[Future[Verdict]]) -> set[Future[Verdict]]:
    return {f for f in futures if f.done()}


def check_candidates(task: Task, bodies: list[str], options: Options,
                     report: ProgressFn) -> list[Verdict]:
    """A verdict per sample body, as %%codex computes it; identical bodies are run once."""
    checker = Checker(task, options, report)
    try:
        return checker.verdicts(bodies)
    finally:
        checker.close()


def _static_verdict(task: Task, body: str, total: int) -> Verdict | None:
    """Verdicts that need no run: an empty body, or code that does not parse."""
    if not body.strip():
        return Verdict(0, total, (), "empty", "the model wrote no function body")
    try:
        ast.parse(task.signature + body)
    except SyntaxError as e:
        return Verdict(0, total, (), "syntax error", f"line {e.lineno}: {e.msg}")
    except (ValueError, RecursionError, MemoryError) as e:
        return Verdict(0, total, (), "syntax error", str(e)[:200])
    return None
