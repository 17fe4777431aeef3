"""The options of one run, each declared once.

An option is a field of ``Options`` whose metadata (made by ``option``) holds
its flags, help, bounds and where it appears. Everything else is generated
from that one declaration: the checks and their one-line messages (here), and
in ``option_forms`` the command line's and the magic's arguments (so
``%%codex?`` and ``codex-magic solve --help`` agree), the ``%config
CodexMagics.<name>`` traits and the schema the JupyterLab sidebar builds its
form from (sent by the kernel, so the two can never disagree). Help texts
format their defaults from the field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .types import CodexError, SamplingParams

SANDBOX_POLICIES = ("auto", "strict", "namespaces", "landlock", "limits")  # sandbox.POLICIES
RANKINGS = ("tests", "logprob", "review", "random")
# The options that apply to %%docstring and `codex-magic docstring` (writing docstrings).
DOCSTRING_OPTIONS = ("samples", "temperature", "top_p", "top_k", "max_tokens", "seed", "model",
                     "server", "threads", "gpu_layers", "n_ctx", "timings")
MAX_SAMPLES = 256
MAX_TOKENS = 4096
MAX_TIMEOUT = 600.0


@dataclass(frozen=True)
class Spec:
    """How one option is set and checked; see ``option``."""

    flags: tuple[str, ...]
    help: str  # may say {default}
    kind: type  # int, float, str or bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low bound itself is refused
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    unset: str = ""  # what None means, in the user's words ("random", "per model")
    label: str = ""  # the sidebar's label; "" keeps the option out of the sidebar
    config: bool = True  # a %config CodexMagics trait
    from_file: bool = False  # the flag names a file whose text is the value
    env: str = ""  # an environment variable giving the default when it is not set otherwise
    more: bool = False  # in the sidebar, under "More options"
    placeholder: str = ""  # the sidebar field's short hint when empty (default: unset)

    @property
    def flag(self) -> str:
        return self.flags[-1]


# What a batch is asked by default is declared once, by SamplingParams; the options take it.
_SAMPLING = {f.name: f.default for f in dataclasses.fields(SamplingParams)}


def option(default: Any, *flags: str, help: str, kind: type, **spec: Any) -> Any:
    return field(default=default, metadata={"spec": Spec(flags, help, kind, **spec)})


@dataclass(frozen=True)
class Options:
    samples: int = option(10, "-n", "--samples", kind=int, low=1, high=MAX_SAMPLES,
                          metavar="N", label="Samples",
                          help="how many candidates to sample (default {default})")
    temperature: float | None = option(
        None, "-t", "--temperature", kind=float, low=0.0, high=2.0, metavar="T",
        unset="per model: low for one sample, higher for many", label="Temperature",
        placeholder="per model",
        help="sampling temperature (default: {default})")
    top_p: float = option(_SAMPLING["top_p"], "--top-p", kind=float, low=0.0, high=1.0,
                          low_open=True, metavar="P", label="Top-p", more=True,
                          help="nucleus sampling threshold (default {default})")
    top_k: int = option(_SAMPLING["top_k"], "--top-k", kind=int, low=0, high=100_000, metavar="K",
                        label="Top-k", more=True,
                        help="sample among the K likeliest tokens, 0 = all (default {default})")
    max_tokens: int = option(_SAMPLING["max_tokens"], "--max-tokens", kind=int, low=1,
                             high=MAX_TOKENS, metavar="M", label="Max tokens",
                             help="most tokens per candidate (default {default})")
    seed: int | None = option(None, "--seed", kind=int, low=0, high=2**31 - 1, metavar="S",
                              unset="random", label="Seed",
                              help="random seed (default {default}); the same seed and options "
                                   "give the same candidates on the same machine (the thread "
                                   "count changes the rounding)")
    model: str | None = option(None, "-m", "--model", kind=str, metavar="M",
                               unset="the embedded Gemma 3 270M", label="Model",
                               help="a GGUF file, or a name `codex-magic models` lists: "
                                    "the registry's, pulled ones, hf:/ollama:/lmstudio: ones "
                                    "(default: {default})")
    server: str | None = option(
        None, "--server", kind=str, metavar="URL", env="CODEX_MAGIC_SERVER", label="Server",
        more=True, unset="none, the model runs in this kernel",
        help="the /v1 base URL of an OpenAI-compatible inference server (vLLM, llama.cpp's "
             "llama-server) to sample from, e.g. http://gpu-box:8000/v1; --model then names "
             "one of its models, by default the first it lists (default: {default}; "
             "$CODEX_MAGIC_SERVER sets it for everyone; the API key is read from "
             "$CODEX_MAGIC_API_KEY only)")
    threads: int | None = option(
        None, "--threads", kind=int, low=1, high=1024, metavar="N", env="CODEX_MAGIC_THREADS",
        unset="the cores this process may use: affinity, capped by a cgroup CPU quota",
        help="CPU threads for llama.cpp (default: {default}; $CODEX_MAGIC_THREADS sets it "
             "for everyone)")
    gpu_layers: int | None = option(
        None, "--gpu-layers", kind=int, low=-1, high=100_000, metavar="N",
        env="CODEX_MAGIC_GPU_LAYERS", unset="all when llama.cpp was built for a GPU, else 0",
        help="model layers to offload to the GPU, -1 = all (default: {default}; "
             "$CODEX_MAGIC_GPU_LAYERS sets it for everyone)")
    n_ctx: int | None = option(
        None, "--n-ctx", kind=int, low=256, high=1 << 20, metavar="N", env="CODEX_MAGIC_N_CTX",
        unset="what the prompt and samples need, up to the model's context",
        help="the most context (KV cache) tokens to allocate; a run needing more stops and "
             "says what to lower (default: {default}; $CODEX_MAGIC_N_CTX sets it for everyone)")
    timeout: float = option(5.0, "--timeout", kind=float, low=0.0, high=MAX_TIMEOUT,
                            low_open=True, metavar="S", label="Timeout (s)", more=True,
                            help="seconds each candidate's doctests may run (default {default})")
    rank: str = option("tests", "--rank", kind=str, choices=RANKINGS, label="Rank by", more=True,
                       help="order by doctests then mean log-prob (tests), by mean log-prob "
                            "only (logprob), by mean log-prob plus the log-prob of the "
                            "docstring after the candidate's code (review), or at random "
                            "(default {default})")
    tests: bool = option(True, "--no-tests", kind=bool, label="Run doctests", more=True,
                         help="do not run the doctests; rank by mean log-prob")
    context: bool = option(False, "--context", kind=bool, label="Use earlier cells",
                           help="put imports and definitions of cells already run before the "
                                "prompt and into the sandbox")
    sandbox: str | None = option(
        None, "--sandbox", kind=str, choices=SANDBOX_POLICIES, metavar="POLICY",
        unset="$CODEX_MAGIC_SANDBOX, else auto",
        help="how candidates are confined: auto (the strongest this machine allows), strict "
             "(refuse to run them with limits only), or one mode: namespaces, landlock, "
             "limits (default: {default}; docs/security.md)")
    explain: bool = option(False, "--explain", kind=bool,
                           help="have the model say in one line what each candidate does, "
                                "from its code alone")
    timings: bool = option(False, "--timings", kind=bool,
                           help="show where the time went (load, prefill, decode, host sampling "
                                "per step, tests, scoring, render)")
    grammar: str | None = option(None, "--grammar", kind=str, metavar="FILE", config=False,
                                 from_file=True,
                                 help="constrain the candidates to a GBNF grammar "
                                      "(llama.cpp format)")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(f.name, spec_of(f), getattr(self, f.name), f.default)

    def replace(self, **changes: Any) -> Options:
        return dataclasses.replace(self, **changes)

    def from_env(self) -> Options:
        """These options, those still unset taken from their environment variables.

        Precedence: the flag, then ``%config CodexMagics``, then the environment
        (admins set ``CODEX_MAGIC_THREADS`` etc. for all users), then automatic.
        """
        import os

        changes: dict[str, Any] = {}
        for name, spec, _ in specs():
            raw = os.environ.get(spec.env, "").strip() if spec.env else ""
            if getattr(self, name) is not None or not raw:
                continue
            try:
                changes[name] = spec.kind(raw)
                _check(name, spec, changes[name], None)
            except (ValueError, CodexError):
                raise CodexError(f"${spec.env} must be {_range_words(spec)}, got {raw!r}"
                                 ) from None
        return dataclasses.replace(self, **changes) if changes else self

    def resolved_temperature(self, model_defaults: dict[str, float] | None = None) -> float:
        """The temperature to sample at: the one asked for, else the model's or the paper's.

        The Codex paper found the best temperature rises with the number of
        samples (0.2 for pass@1, 0.8 for pass@100); a model's registry entry may
        carry values measured for it by ``codex-magic eval``.
        """
        if self.temperature is not None:
            return float(self.temperature)
        defaults = {"single": 0.0, "many": 0.8}
        defaults.update(model_defaults or {})
        return defaults["single"] if self.samples == 1 else defaults["many"]

    def sampling(self, seed: int, model_defaults: dict[str, float] | None = None
                 ) -> SamplingParams:
        """What the engine needs to draw this run's samples."""
        return SamplingParams(n=self.samples, temperature=self.resolved_temperature(
            model_defaults), top_p=self.top_p, top_k=self.top_k, max_tokens=self.max_tokens,
            seed=seed, grammar=self.grammar)


def spec_of(f: dataclasses.Field) -> Spec:  # type: ignore[type-arg]
    spec: Spec = f.metadata["spec"]
    return spec


def specs() -> list[tuple[str, Spec, Any]]:
    """(name, spec, default) of every option, in the order help shows them."""
    return [(f.name, spec_of(f), f.default) for f in dataclasses.fields(Options)]


def _is_num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def _check(field_name: str, spec: Spec, value: Any, default: Any) -> None:
    """Refuse a value with a one-line message naming the flag and what it takes."""
    if value is None and default is None:
        return
    name = spec.flag
    if spec.kind is bool:
        name = field_name
        if not isinstance(value, bool):
            raise CodexError(f"{name} must be true or false, got {value!r}")
        return
    if spec.choices:
        if value not in spec.choices:
            raise CodexError(f"{name} must be one of {', '.join(spec.choices)}, got {value!r}")
        return
    if spec.kind is str:
        if not isinstance(value, str) or (not spec.from_file and not value.strip()):
            raise CodexError(f"{name} must be {spec.help.split(' (')[0]}, got {value!r}")
        return
    ok = isinstance(value, int) and not isinstance(value, bool) if spec.kind is int \
        else _is_num(value)
    if ok and spec.low is not None:
        ok = value > spec.low if spec.low_open else value >= spec.low
    if ok and spec.high is not None:
        ok = value <= spec.high
    if not ok:
        raise CodexError(f"{name} must be {_range_words(spec)}, got {value!r}")


def _range_words(spec: Spec) -> str:
    low, high = f"{spec.low:g}", f"{spec.high:g}" if spec.high is not None else ""
    if spec.kind is int:
        if spec.high is not None and spec.high >= 2**31 - 1:
            return f"an integer from {low} to 2**31-1"
        return f"an integer from {low} to {high}" if high else f"an integer >= {low}"
    if spec.low_open:
        return f"in ({low}, {high}]"
    return f"between {low} and {high}"


def describe_default(spec: Spec, default: Any) -> str:
    return spec.unset if default is None else f"{default:g}" if isinstance(default, float) \
        else str(default)
