"""From what a sandboxed child reported to a Verdict: the comparison happens here, in the
parent, with doctest's own OutputChecker and option flags."""

from __future__ import annotations

import doctest
import signal
from collections.abc import Sequence

from ..types import Doctest, Failure, Verdict
from .read import ChildRun

_CHECKER = doctest.OutputChecker()


def _flags(d: Doctest) -> int:
    flags = 0
    for flag, on in d.options.items():
        flags = flags | int(flag) if on else flags & ~int(flag)
    return flags


def _exc_matches(d: Doctest, exc_line: str, flags: int) -> bool:
    assert d.exc_msg is not None
    if _CHECKER.check_output(d.exc_msg, exc_line, flags):
        return True
    if flags & doctest.IGNORE_EXCEPTION_DETAIL:
        strip = getattr(doctest, "_strip_exception_details", None)
        if strip is not None:
            return bool(_CHECKER.check_output(strip(d.exc_msg), strip(exc_line), flags))
    return False


def early_verdict(total: int, run: ChildRun) -> Verdict | None:
    """The verdicts that do not look at examples: refused, protocol error, syntax, load."""
    details = "; ".join(run.notes)
    if run.refused:
        return Verdict(0, total, (), "refused", "the sandbox policy refused to run: " + details,
                       run.seconds)
    if run.protocol_error:
        return Verdict(0, total, (), "protocol error",
                       f"the candidate's process wrote {run.protocol_error} on the result "
                       "channel", run.seconds)
    by_kind = {m["kind"]: m for m in run.messages}
    if "syntax" in by_kind:
        return Verdict(0, total, (), "syntax error", by_kind["syntax"]["detail"][:2000],
                       run.seconds)
    if "load" in by_kind:
        m = by_kind["load"]
        exc = m["exc"] or ""
        return Verdict(0, total, (Failure("(defining the function)", "", m["got"] + exc,
                                          reason(exc)),), "error", exc.strip(), run.seconds)
    return None


def doctest_verdict(doctests: Sequence[Doctest], run: ChildRun) -> Verdict:
    total = len(doctests)
    early = early_verdict(total, run)
    if early is not None:
        return early
    results = {m["i"]: m for m in run.messages if m["kind"] == "example"}
    passed = 0
    failures = []
    for i, d in enumerate(doctests):
        flags = _flags(d)
        result = results.get(i)
        if result is None:
            failures.append(Failure(d.source, d.want, run.log[-2000:], ended(run)))
            continue
        got, raised = result["got"], result["exc"]
        if raised is None:
            if d.exc_msg is None and _CHECKER.check_output(d.want, got, flags):
                passed += 1
            else:
                failures.append(Failure(d.source, d.want if d.exc_msg is None else
                                        "Traceback (most recent call last):\n  ...\n" + d.exc_msg,
                                        got, "wrong output"))
        else:
            if d.exc_msg is not None and _exc_matches(d, raised, flags):
                passed += 1
            else:
                failures.append(Failure(d.source, d.want, got + raised, reason(raised)))
    return Verdict(passed, total, tuple(failures), status(run, failures), "; ".join(run.notes),
                   run.seconds)


def status(run: ChildRun, failures: Sequence[Failure]) -> str:
    if run.timed_out:
        return "timed out"
    if any(f.reason.startswith(("crashed", "exited", "killed")) for f in failures):
        return "crashed"
    return "ok"


def reason(exc_line: str) -> str:
    if exc_line.startswith("MemoryError"):
        return "killed: memory"
    if exc_line.startswith("RecursionError"):
        return "exception: recursion too deep"
    return "exception: " + exc_line.strip()[:200]


def ended(run: ChildRun) -> str:
    """Why an example has no result: the process ran out of time or memory, or died."""
    if run.timed_out:
        return "timed out"
    if run.oom_killed:
        return "killed: memory (the candidate's cgroup)"
    if run.disk_full:
        return "killed: disk (its work directory outgrew its limit)"
    code = run.exit_code
    if code is None:
        return "no result"
    if code < 0 or code >= 128:
        sig = -code if code < 0 else code - 128
        names: dict[int, str] = {
            signal.SIGXCPU: "CPU time limit", signal.SIGXFSZ: "file size limit",
            signal.SIGSEGV: "segmentation fault", signal.SIGKILL: "killed",
            signal.SIGABRT: "aborted", signal.SIGSYS: "forbidden system call"}
        name = names.get(sig, f"signal {sig}")
        return f"crashed: {name}"
    return f"exited with code {code} before finishing"
