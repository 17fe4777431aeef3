"""Running an evaluation: sample every problem with the engine, judge, summarise.

For each problem the engine samples n completions in one batch at each
temperature (``pipeline.draw``, the magic's own sampling step); the sandbox
runs every completion against the problem's hidden tests and its docstring's
``>>>`` examples, in a thread while the next problem samples. With an inference
server, ``concurrency`` problems sample at once, so a batching server stays full.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..engines import Engine
from ..options import Options
from ..pipeline import draw
from ..runtime import interrupts
from ..types import CodexError, Sample, SamplingParams
from .judge import DEFAULT_TIMEOUT, JudgedSample, canonical_failures, check_problem, judge
from .metrics import GREEDY
from .report import EvalReport, summarize, temperature_key
from .store import RunFiles, check_settings, read_done, seed_for, write_rows


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from ..runtime import usable_cores

    return f"{cpu}, {usable_cores()} cores usable, {platform.system()} {platform.release()}"


def evaluate_problems(
    problems: Sequence[Mapping[str, Any]],
    *,
    model: str | None = None,
    n: int = 10,
    temperatures: Sequence[float] = (0.2, 0.8),
    ks: Sequence[int] = (1, 10),
    greedy: bool = False,
    max_tokens: int = Options.max_tokens,
    top_p: float = Options.top_p,
    top_k: int = Options.top_k,
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    out: str | os.PathLike[str] | None = None,
    overlap: bool = True,
    threads: int | None = None,
    progress: bool = True,
    server: str | None = None,
    concurrency: int | None = None,
) -> EvalReport:
    """Sample, test and score a list of problems; the notebook face of ``codex-magic eval``.

    Each problem is a dict like a HumanEval row: ``task_id``, ``prompt`` (imports,
    signature and docstring; its ``>>>`` examples are used for ranking), ``test``
    (hidden tests defining ``check(candidate)``, used for scoring only) and
    ``entry_point`` (the function's name). With ``out``, samples are kept in
    that folder and a second call resumes where the first stopped.

    ``threads`` sets llama.cpp's threads (default: every usable core); 1 leaves
    a core to other work and was a little faster here when another process
    held a core (docs/evaluation.md).

    ``server`` (default ``$CODEX_MAGIC_SERVER``) samples through an inference server
    instead (``model`` is then one of its models); ``concurrency`` problems are in
    flight at once (default 8 with a server, 1 in process, whose n samples of a
    problem already share one batch).
    """
    problems = list(problems)
    if not problems:
        raise CodexError("no problems to evaluate")
    for p in problems:
        check_problem(p)
    ids = [p["task_id"] for p in problems]
    if len(set(ids)) != len(ids):
        raise CodexError("task_id values must be unique")
    Options(samples=n, max_tokens=max_tokens, top_p=top_p, top_k=top_k, seed=seed,
            timeout=timeout)  # the magic's own checks, with its messages
    temps = tuple(dict.fromkeys(float(t) for t in temperatures))
    for t in temps:
        Options(temperature=t)
    if not temps and not greedy:
        raise CodexError("give at least one temperature, or greedy=True")
    ks = tuple(sorted(set(int(k) for k in ks)))
    if any(k < 1 for k in ks):
        raise CodexError(f"k must be at least 1, got {min(ks)}")

    from ..engines import server_url

    started = time.perf_counter()
    server = server_url(server)
    concurrency = concurrency or (8 if server else 1)
    with interrupts.interruptible():  # a plain SIGINT would be lost in llama.cpp's callbacks
        engine, model_name, settings = _engine(model, threads, server, concurrency)
    from ..engines import repetition
    from .store import SEEDING

    settings |= {"n": n, "max_tokens": max_tokens, "top_p": top_p, "top_k": top_k,
                 "seed": seed, "seeding": SEEDING, "repetition_stop": repetition.ENABLED,
                 "timeout": timeout}

    runs = [RunFiles(temperature_key(t), t, n) for t in temps]
    if greedy:
        runs.append(RunFiles(GREEDY, 0.0, 1))

    out_dir = Path(out) if out is not None else None
    done: dict[str, dict[str, list[JudgedSample]]] = {r.label: {} for r in runs}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        check_settings(out_dir, settings)
        for r in runs:
            done[r.label] = read_done(out_dir / r.filename, r.n)

    todo = [(r, p) for r in runs for p in problems if p["task_id"] not in done[r.label]]
    # Prompts whose examples their own canonical solution fails (HumanEval ships one).
    canonical = canonical_failures(problems, timeout)
    timings = {"load": time.perf_counter() - started, "sample": 0.0, "judge": 0.0}

    from tqdm.auto import tqdm

    bar = tqdm(total=len(runs) * len(problems), initial=len(runs) * len(problems) - len(todo),
               unit="problem", desc="eval", disable=not progress, dynamic_ncols=True)

    def sampled(run: RunFiles, problem: Mapping[str, Any]) -> tuple[list[Sample], float, int]:
        t0 = time.perf_counter()
        params = SamplingParams(n=run.n, temperature=run.temperature, top_p=top_p,
                                top_k=top_k, max_tokens=max_tokens,
                                seed=seed_for(seed, problem["task_id"], run.label))
        samples = draw(engine, problem["prompt"], params)
        # The engine's counters are those of its last call: only ours when alone.
        tokens = engine.stats.generated_tokens if concurrency == 1 else -1
        return samples, time.perf_counter() - t0, tokens

    def judged(run: RunFiles, problem: Mapping[str, Any], samples: list[Sample],
               seconds: float, tokens: int) -> list[JudgedSample]:
        t0 = time.perf_counter()
        rows = judge(problem, samples, run.temperature, timeout, tokens, seconds)
        timings["judge"] += time.perf_counter() - t0
        return rows

    def finish(run: RunFiles, rows: list[JudgedSample]) -> None:
        done[run.label][rows[0].task_id] = rows
        if out_dir is not None:
            write_rows(out_dir / run.filename, rows)
        bar.set_postfix_str(f"{run.label}: {rows[0].task_id}", refresh=False)
        bar.update(1)

    # `concurrency` problems sample at once, each in a thread; a problem's samples are
    # judged (subprocesses, mostly waiting) in another thread while the next ones sample,
    # and written when judged. `overlap=False` judges before sampling on. This thread only
    # waits and writes, so an interrupt (which only sets a flag here) ends it at once.
    waiting = iter(todo)
    sampling: dict[Future[Any], tuple[RunFiles, Mapping[str, Any]]] = {}
    judging: dict[Future[Any], RunFiles] = {}
    try:
        with interrupts.interruptible(), ThreadPoolExecutor(concurrency) as samplers, \
                ThreadPoolExecutor(max_workers=1) as judges:
            while True:
                while len(sampling) < concurrency and (overlap or not judging) and \
                        (item := next(waiting, None)) is not None:
                    sampling[samplers.submit(sampled, *item)] = item
                if not sampling and not judging:
                    break
                ready, _ = wait([*sampling, *judging], timeout=0.1,
                                return_when=FIRST_COMPLETED)
                interrupts.check()
                for future in ready:
                    if future in judging:
                        finish(judging.pop(future), future.result())
                    else:
                        run, problem = sampling.pop(future)
                        samples, seconds, tokens = future.result()
                        timings["sample"] += seconds
                        judging[judges.submit(judged, run, problem, samples, seconds,
                                              tokens)] = run
    finally:
        bar.close()

    greedy_rows = done.get(GREEDY) if greedy else None
    report = summarize(
        {r.temperature: done[r.label] for r in runs if r.label != GREEDY},
        greedy_rows,
        problems,
        model=model_name,
        n=n,
        ks=ks,
        canonical_failures=canonical,
        settings=settings,
        machine=machine_description(),
        seconds=time.perf_counter() - started,
        timings=timings,
    )
    if out_dir is not None:
        (out_dir / "results.json").write_text(
            json.dumps(report.to_json(), indent=1) + "\n", encoding="utf-8"
        )
    return report


def _engine(model: str | None, threads: int | None, server: str | None, concurrency: int
            ) -> tuple[Engine, str, dict[str, Any]]:
    """The engine, the model's name, and the settings a resumed run is checked against."""
    if concurrency < 1:
        raise CodexError(f"concurrency must be at least 1, got {concurrency}")
    if threads is not None and threads < 1:
        raise CodexError(f"threads must be at least 1, got {threads}")
    if server:
        if threads is not None:
            raise CodexError("--threads sets the in-process engine's threads: the server "
                             "decides its own")
        from ..engines import server_engine

        engine = server_engine(server, model)
        return engine, engine.name, {"model": engine.name, "server": str(engine.url),
                                     "concurrency": concurrency}
    if concurrency > 1:
        raise CodexError("--concurrency needs --server: in this process the n samples of a "
                         "problem already share one batch, and problems take turns")
    from ..engines import get_engine
    from ..models import resolve

    choice = resolve(model)
    llama = get_engine(choice.path, **({"n_threads": threads} if threads else {}))
    return llama, choice.name, {"model": choice.name, "threads": llama.n_threads}
