"""How long does testing 10 candidates in the sandbox take, next to starting Python 10 times?

    python benchmarks/bench_sandbox.py [--candidates 10] [--repeat 5] [--json OUT]

Times ``codex_magic.sandbox.run_candidates`` on 10 cheap candidates (each a small function
with 3 doctests; some right, some wrong, one raising) against the floor under it: ``python
-I -c pass`` started 10 times one after another, and 10 times over the usable cores at
once. The target is 0.5 s of wall time for 10 candidates on 2 cores. Each figure is the
median of --repeat runs (the minimum is printed too).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

TARGET_S = 0.5

DOCSTRING = '''
    >>> add_squares([1, 2, 3])
    14
    >>> add_squares([])
    0
    >>> add_squares([-2])
    4
'''

BODIES = [
    "    return sum(x * x for x in xs)\n",
    "    return sum(x ** 2 for x in xs)\n",
    "    total = 0\n    for x in xs:\n        total += x * x\n    return total\n",
    "    return sum(map(lambda x: x * x, xs))\n",
    "    return sum(xs) ** 2\n",  # wrong
    "    return sum(x * 2 for x in xs)\n",  # wrong
    "    return sum([x * x for x in xs])\n",
    "    return xs[0] ** 2 + add_squares(xs[1:])\n",  # raises on []
    "    import math\n    return int(math.fsum(x * x for x in xs))\n",
    "    return 0 if not xs else xs[0] * xs[0] + add_squares(xs[1:])\n",
]


def candidates(n: int) -> list[str]:
    return [f'def add_squares(xs):\n    """{DOCSTRING}    """\n{BODIES[i % len(BODIES)]}'
            for i in range(n)]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def python_starts(n: int, workers: int) -> None:
    def start(_: int) -> None:
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(start, range(n)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per candidate")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from codex_magic.prompt import extract_doctests
    from codex_magic.runtime.resources import usable_cores
    from codex_magic.sandbox import run_candidates

    cores = usable_cores()
    n = args.candidates
    programs = candidates(n)
    tests = extract_doctests(DOCSTRING, "add_squares")

    rows: dict[str, list[float]] = {}
    rows["python -I -c pass, sequential"], _ = timed(lambda: python_starts(n, 1), args.repeat)
    rows[f"python -I -c pass, {cores} at once"], _ = timed(lambda: python_starts(n, cores),
                                                          args.repeat)
    rows["sandbox run_candidates"], verdicts = timed(
        lambda: run_candidates(programs, tests, args.timeout), args.repeat)

    passed = sum(v.all_passed for v in verdicts)
    per_candidate = statistics.median(v.seconds for v in verdicts)
    print(f"{n} candidates, {len(tests)} doctests each, {cores} usable cores, "
          f"Python {sys.version.split()[0]}; {passed}/{n} passed all doctests "
          f"(statuses: {sorted({v.status for v in verdicts})})")
    print(f"\n{'what':<36}{'median s':>10}{'min s':>8}{'/ target':>10}")
    for what, times in rows.items():
        med = statistics.median(times)
        print(f"{what:<36}{med:>10.3f}{min(times):>8.3f}{med / TARGET_S:>10.2f}")
    sand = statistics.median(rows["sandbox run_candidates"])
    par = statistics.median(rows[f"python -I -c pass, {cores} at once"])
    print(f"\nsandbox / parallel interpreter starts: {sand / par:.2f}x; "
          f"one candidate's process took {per_candidate:.3f} s (median)")
    print(f"target {TARGET_S} s for {n} candidates on 2 cores: "
          f"{'met' if sand <= TARGET_S else 'MISSED'} ({sand:.3f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "cores": cores, "candidates": n, "doctests": len(tests), "passed": passed,
            "target_s": TARGET_S, "per_candidate_median_s": per_candidate,
            "runs_s": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
