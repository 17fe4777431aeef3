"""The options of one ``%%codex`` run, shared by the magic, the CLI and the sidebar.

``OPTION_SPECS`` is the single list of command-line options: the magic feeds it
to ``IPython.core.magic_arguments`` and the CLI to ``argparse``, so both accept
the same flags with the same help.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from .types import CodexError

RANKINGS = ("tests", "logprob", "random")
MAX_SAMPLES = 256
MAX_TOKENS = 4096
MAX_TIMEOUT = 600.0


@dataclass(frozen=True)
class Options:
    samples: int = 10
    temperature: float | None = None  # None: chosen from the number of samples
    top_p: float = 0.95
    top_k: int = 40
    max_tokens: int = 256
    seed: int | None = None
    model: str | None = None  # a GGUF path or a registry name; None: the default model
    timeout: float = 5.0  # seconds per candidate for its doctests
    rank: str = "tests"
    tests: bool = True
    context: bool = False
    timings: bool = False
    grammar: str | None = None  # GBNF text constraining the samples (llama.cpp grammar)

    def __post_init__(self) -> None:
        check = _check
        check(isinstance(self.samples, int) and 1 <= self.samples <= MAX_SAMPLES,
              f"--samples must be an integer from 1 to {MAX_SAMPLES}, got {self.samples!r}")
        check(self.temperature is None or (_is_num(self.temperature) and
                                           0.0 <= self.temperature <= 2.0),
              f"--temperature must be between 0 and 2, got {self.temperature!r}")
        check(_is_num(self.top_p) and 0.0 < self.top_p <= 1.0,
              f"--top-p must be in (0, 1], got {self.top_p!r}")
        check(isinstance(self.top_k, int) and 0 <= self.top_k <= 100_000,
              f"--top-k must be an integer >= 0 (0 = off), got {self.top_k!r}")
        check(isinstance(self.max_tokens, int) and 1 <= self.max_tokens <= MAX_TOKENS,
              f"--max-tokens must be an integer from 1 to {MAX_TOKENS}, got {self.max_tokens!r}")
        check(self.seed is None or (isinstance(self.seed, int) and 0 <= self.seed < 2**31),
              f"--seed must be an integer from 0 to 2**31-1, got {self.seed!r}")
        check(_is_num(self.timeout) and 0.0 < self.timeout <= MAX_TIMEOUT,
              f"--timeout must be between 0 and {MAX_TIMEOUT:g} seconds, got {self.timeout!r}")
        check(self.rank in RANKINGS,
              f"--rank must be one of {', '.join(RANKINGS)}, got {self.rank!r}")
        check(self.model is None or (isinstance(self.model, str) and self.model.strip() != ""),
              "--model must be a GGUF file path or a registry name")
        for name in ("tests", "context", "timings"):
            value = getattr(self, name)
            check(isinstance(value, bool), f"{name} must be true or false, got {value!r}")

    def replace(self, **changes: Any) -> Options:
        return dataclasses.replace(self, **changes)

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


def _is_num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise CodexError(message)


# (flags, argparse keyword arguments) for every option, in the order --help shows them.
OPTION_SPECS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("-n", "--samples"), dict(type=int, default=None, metavar="N",
                               help="how many candidates to sample (default 10)")),
    (("-t", "--temperature"), dict(type=float, default=None, metavar="T",
                                   help="sampling temperature (default: low for one sample, "
                                        "higher for many, per model)")),
    (("--top-p",), dict(type=float, default=None, metavar="P", dest="top_p",
                        help="nucleus sampling threshold (default 0.95)")),
    (("--top-k",), dict(type=int, default=None, metavar="K", dest="top_k",
                        help="sample among the K likeliest tokens, 0 = all (default 40)")),
    (("--max-tokens",), dict(type=int, default=None, metavar="M", dest="max_tokens",
                             help="most tokens per candidate (default 256)")),
    (("--seed",), dict(type=int, default=None,
                       help="random seed; the same seed and options give the same candidates "
                            "on the same machine (the thread count changes the rounding)")),
    (("-m", "--model"), dict(default=None,
                             help="a GGUF file or a name from the models registry "
                                  "(default: the embedded Gemma 3 270M)")),
    (("--timeout",), dict(type=float, default=None, metavar="S",
                          help="seconds each candidate's doctests may run (default 5)")),
    (("--rank",), dict(default=None, choices=RANKINGS,
                       help="order by doctests then mean log-prob (tests), by mean "
                            "log-prob only (logprob), or at random")),
    (("--no-tests",), dict(action="store_true", default=None, dest="no_tests",
                           help="do not run the doctests; rank by mean log-prob")),
    (("--context",), dict(action="store_true", default=None,
                          help="put imports and definitions of cells already run "
                               "before the prompt and into the sandbox")),
    (("--timings",), dict(action="store_true", default=None,
                          help="show where the time went (load, prefill, decode, tests)")),
    (("--grammar",), dict(default=None, metavar="FILE", dest="grammar_file",
                          help="constrain the candidates to a GBNF grammar (llama.cpp format)")),
]


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    for flags, kwargs in OPTION_SPECS:
        parser.add_argument(*flags, **kwargs)


def options_from_args(args: argparse.Namespace, base: Options | None = None) -> Options:
    """Options from parsed arguments; flags not given keep ``base``'s values."""
    base = base or Options()
    changes: dict[str, Any] = {}
    for name in ("samples", "temperature", "top_p", "top_k", "max_tokens", "seed", "model",
                 "timeout", "rank", "context", "timings"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "no_tests", None):
        changes["tests"] = False
    path = getattr(args, "grammar_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                changes["grammar"] = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise CodexError(f"cannot read the grammar file {path}: "
                             f"{getattr(e, 'strerror', None) or e}") from None
    return dataclasses.replace(base, **changes)
