"""The one orchestration function: cell in, ranked and tested candidates out.

The magic, the JupyterLab sidebar, the CLI and the evaluation harness all call
``solve`` (the evaluation calls its steps, ``draw`` and ``check_candidates``);
each stays a thin shell around it.
"""

from __future__ import annotations

import dataclasses
import time

from . import prompt as prompt_mod
from . import rank as rank_mod
from . import sandbox
from .checks import Checker, check_candidates
from .docstrings import explained, review_scores
from .engines import Engine, SampleDone, TokenProgress, prepare_run
from .options import Options
from .runtime import interrupts
from .types import Progress, ProgressFn, Result, Sample, SamplingParams, Task


def solve(cell: str, options: Options, *, engine: Engine | None = None, context: str = "",
          progress: ProgressFn | None = None) -> Result:
    """Sample ``options.samples`` bodies for the cell's function, test, rank.

    An interrupt (SIGINT) in any phase ends it with ``KeyboardInterrupt`` within a
    decode step or so, leaving no process, file or half-made state behind.
    """
    with interrupts.interruptible():
        return _solve(cell, options, engine, context, progress or (lambda p: None))


def _solve(cell: str, options: Options, engine: Engine | None, context: str,
           report: ProgressFn) -> Result:
    timings: dict[str, float] = {}
    task = prompt_mod.parse_cell(cell, context)

    engine, params, on_tokens = prepare_run(options, engine, report, timings)
    n = params.n
    checker = Checker(task, options, report)
    try:
        # Each candidate's doctests start as soon as its sequence ends.
        samples = draw(engine, task.prompt, params, on_tokens,
                       lambda _i, s: checker.submit(s.text))
        sampled = time.perf_counter()
        interrupts.phase("testing")
        bodies = [s.text for s in samples]
        verdicts = checker.verdicts(bodies)
    finally:
        checker.close()
    stats = engine.stats
    timings |= {"prefill": stats.prefill_s, "decode": stats.decode_s,
                "host_sampling": stats.host_s, "steps": float(stats.steps),
                "prompt_tokens": float(stats.prompt_tokens),
                "generated_tokens": float(stats.generated_tokens),
                # Tests run behind decoding: what was left to wait for after it.
                "tests": time.perf_counter() - sampled,
                "tests_done_while_decoding": float(sum(
                    1 for t in checker.finished_at.values() if t <= sampled)),
                "tests_total": float(checker.runs)}

    interrupts.phase("ranking")
    by = ranking_for(options, task)
    codes = [prompt_mod.build_code(task, b) for b in bodies]
    review = None
    if by == "review":  # the model reads the docstring back after each candidate
        interrupts.phase("scoring")
        t = time.perf_counter()
        review = review_scores(engine, task, bodies,
                                       [s.mean_logprob for s in samples])
        timings["scoring"] = time.perf_counter() - t
    ranked = rank_mod.rank(samples, bodies, codes, verdicts, by=by, seed=params.seed,
                           review=review)
    if options.explain:
        t = time.perf_counter()
        ranked = explained(engine, task, ranked)
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
        notes=tuple(stats.notes) + _sandbox_notes(checker.runs),
    )




def draw(engine: Engine, prompt: str, params: SamplingParams,
         on_progress: TokenProgress | None = None,
         on_finished: SampleDone | None = None) -> list[Sample]:
    """The sampling step: n completions, each cut where the function body ends
    (the paper's stop sequences, or the first unindented line); ``on_finished``
    gets each one, cut, as soon as it ends."""
    def cut(s: Sample) -> Sample:
        return dataclasses.replace(s, text=prompt_mod.cut_completion(s.text))

    done = None if on_finished is None else (lambda i, s: on_finished(i, cut(s)))
    samples = engine.sample(prompt, params, stop=prompt_mod.stop_index,
                            on_progress=on_progress, on_finished=done)
    return [cut(s) for s in samples]


def ranking_for(options: Options, task: Task) -> str:
    """The ranking actually used: "tests" falls back to log-prob when nothing is tested."""
    if options.rank == "tests" and (not options.tests or not task.doctests):
        return "logprob"
    return options.rank


__all__ = ["check_candidates", "draw", "ranking_for", "solve"]


def _sandbox_notes(runs: int) -> tuple[str, ...]:
    """Once per process, when candidates ran with limits only: say so with the result."""
    notice = sandbox.mode_notice() if runs else None
    return (notice.removeprefix("note: "),) if notice else ()
