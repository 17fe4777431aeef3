"""The one orchestration function: cell in, ranked and tested candidates out.

The magic, the JupyterLab sidebar, the CLI and the evaluation harness all call
``solve`` (the evaluation calls its steps, ``draw`` and ``check_candidates``);
each stays a thin shell around it.
"""

from __future__ import annotations

import ast
import dataclasses
import time
from collections.abc import Callable

from . import _interrupt, reverse, sandbox
from . import prompt as prompt_mod
from . import rank as rank_mod
from .engine import Engine, TokenProgress, engine_for, new_seed
from .options import Options
from .types import Progress, Result, Sample, SamplingParams, Task, Verdict

ProgressFn = Callable[[Progress], None]


def solve(cell: str, options: Options, *, engine: Engine | None = None, context: str = "",
          progress: ProgressFn | None = None) -> Result:
    """Sample ``options.samples`` bodies for the cell's function, test, rank.

    An interrupt (SIGINT) in any phase ends it with ``KeyboardInterrupt`` within a
    decode step or so, leaving no process, file or half-made state behind.
    """
    with _interrupt.interruptible():
        return _solve(cell, options, engine, context, progress or (lambda p: None))


def _solve(cell: str, options: Options, engine: Engine | None, context: str,
           report: ProgressFn) -> Result:
    timings: dict[str, float] = {}
    task = prompt_mod.parse_cell(cell, context)

    t0 = time.perf_counter()
    defaults = None
    if engine is None:
        report(Progress("loading"))
        _interrupt.phase("resolve")
        engine, defaults = engine_for(options)
    timings["load"] = engine.load_s
    timings["resolve"] = time.perf_counter() - t0 - timings["load"]

    params = options.sampling(options.seed if options.seed is not None else new_seed(), defaults)
    n, last = params.n, [0.0]

    def on_tokens(tokens: int, finished: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 0.1 or finished == n:
            last[0] = now
            report(Progress("sampling", finished, n, tokens))

    report(Progress("sampling", 0, n, 0))
    samples = draw(engine, task.prompt, params, on_tokens)
    stats = engine.stats
    timings |= {"prefill": stats.prefill_s, "decode": stats.decode_s,
                "prompt_tokens": float(stats.prompt_tokens),
                "generated_tokens": float(stats.generated_tokens)}

    bodies = [s.text for s in samples]
    t2 = time.perf_counter()
    _interrupt.phase("testing")
    verdicts = check_candidates(task, bodies, options, report)
    timings["tests"] = time.perf_counter() - t2

    _interrupt.phase("ranking")
    by = ranking_for(options, task)
    codes = [prompt_mod.build_code(task, b) for b in bodies]
    review = None
    if by == "review":  # the model reads the docstring back after each candidate
        _interrupt.phase("scoring")
        t = time.perf_counter()
        review = reverse.review_scores(engine, task, bodies,
                                       [s.mean_logprob for s in samples])
        timings["scoring"] = time.perf_counter() - t
    ranked = rank_mod.rank(samples, bodies, codes, verdicts, by=by, seed=params.seed,
                           review=review)
    if options.explain:
        t = time.perf_counter()
        ranked = reverse.explained(engine, task, ranked)
        timings["explain"] = time.perf_counter() - t
    report(Progress("done", len(ranked), len(ranked), 0))
    return Result(
        candidates=ranked,
        n_samples=n,
        n_correct=sum(1 for v in verdicts if v.all_passed),
        n_doctests=len(task.doctests) if options.tests else 0,
        model=engine.name,
        temperature=params.temperature,
        seed=params.seed,
        rank_by=by,
        timings=timings,
        notes=tuple(stats.notes),
    )


def draw(engine: Engine, prompt: str, params: SamplingParams,
         on_progress: TokenProgress | None = None) -> list[Sample]:
    """The sampling step: n completions, each cut where the function body ends
    (the paper's stop sequences, or the first unindented line)."""
    samples = engine.sample(prompt, params, stop=prompt_mod.stop_index, on_progress=on_progress)
    return [dataclasses.replace(s, text=prompt_mod.cut_completion(s.text)) for s in samples]


def ranking_for(options: Options, task: Task) -> str:
    """The ranking actually used: "tests" falls back to log-prob when nothing is tested."""
    if options.rank == "tests" and (not options.tests or not task.doctests):
        return "logprob"
    return options.rank


def check_candidates(task: Task, bodies: list[str], options: Options,
                     report: ProgressFn) -> list[Verdict]:
    """A verdict per sample body, as %%codex computes it; identical bodies are run once."""
    keys = [rank_mod.normalise(body) for body in bodies]
    unique: dict[str, int] = {}
    for key in keys:
        unique.setdefault(key, len(unique))
    reps: list[str] = [""] * len(unique)
    for key, body in zip(keys, bodies, strict=True):
        reps[unique[key]] = body

    run_tests = options.tests and bool(task.doctests)
    results: list[Verdict | None] = [None] * len(reps)
    to_run = []
    for j, body in enumerate(reps):
        static = _static_verdict(task, body, len(task.doctests) if run_tests else 0)
        if static is not None or not run_tests:
            results[j] = static or Verdict(0, 0, (), "no tests")
        else:
            to_run.append(j)

    if to_run:
        done = [0]
        report(Progress("testing", 0, len(to_run)))

        def on_done(_: int, __: Verdict) -> None:
            done[0] += 1
            report(Progress("testing", done[0], len(to_run)))

        programs = [prompt_mod.build_program(task, reps[j]) for j in to_run]
        verdicts = sandbox.run_candidates(programs, task.doctests, options.timeout,
                                          on_done=on_done)
        for j, v in zip(to_run, verdicts, strict=True):
            results[j] = v
    return [results[unique[key]] or Verdict(0, 0) for key in keys]


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
