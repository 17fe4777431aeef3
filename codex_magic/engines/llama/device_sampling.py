"""Sampling on the device: llama.cpp's backend sampler chains, one per sequence.

On a GPU, choosing tokens on the host means copying n vocabulary-wide logits
rows back every step and working through them with numpy. llama.cpp can sample
inside its own graph instead (top-k, top-p, temperature and the draw, per
sequence) and hand back only the chosen token and its few candidates. One stage
of our own goes first in each chain: it turns the logits into the
full-vocabulary log-softmax, so the candidates' values that come back are exact
log-probabilities, scaled by 1/temperature, which we undo. Mean log-prob
ranking is unchanged.

Only with a GPU build: on a CPU the same work would merely move into
``llama_decode``. ``CODEX_MAGIC_DEVICE_SAMPLING=1`` (or ``0``) forces it on (or
off); the tests force it on with the CPU build, where llama.cpp runs the same
graph on the CPU backend.
"""

from __future__ import annotations

import ctypes
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ...types import SamplingParams
from .lib import add_sampling

_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
_stage: dict[str, Any] = {}  # the stage's interface and callbacks, kept alive


def available(ll: Any) -> bool:
    """Whether the installed llama-cpp-python has backend sampling (detected, not assumed)."""
    fields = {f[0] for f in ll.llama_context_params._fields_}
    return ("samplers" in fields and hasattr(ll, "llama_set_sampler")
            and hasattr(ll, "llama_get_sampled_token_ith")
            and hasattr(ll, "llama_get_sampled_candidates_ith") and _ggml(ll) is not None)


def wanted(ll: Any, gpu: bool) -> bool:
    """Sample on the device? With a GPU build, unless the environment says otherwise."""
    forced = os.environ.get("CODEX_MAGIC_DEVICE_SAMPLING", "").strip()
    if forced in ("0", "1"):
        return forced == "1" and available(ll)
    return gpu and available(ll)


def _ggml(ll: Any) -> Any:
    """libggml-base, for the two graph operations our stage adds."""
    if "ggml" not in _stage:
        lib = None
        folder = Path(ll.__file__).parent / "lib"
        for name in ("libggml-base.so", "libggml-base.dylib", "ggml-base.dll"):
            if (folder / name).exists():
                lib = ctypes.CDLL(str(folder / name))
                for fn in (lib.ggml_soft_max, lib.ggml_log):
                    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_void_p
                break
        _stage["ggml"] = lib
    return _stage["ggml"]


def _log_softmax_stage(ll: Any) -> Any:
    """A new sampler stage: logits -> log-softmax over the whole vocabulary."""
    if "iface" not in _stage:
        ggml = _ggml(ll)
        i = ll.llama_sampler_i

        def name(_smpl: Any) -> bytes:
            return b"codex-log-softmax"

        def apply(_smpl: Any, cur_p: Any) -> None:  # on the host, when not on the device
            arr = cur_p.contents
            buf = (ctypes.c_char * (arr.size * _TOKEN_DATA.itemsize)).from_address(
                ctypes.addressof(arr.data.contents))
            data = np.frombuffer(buf, dtype=_TOKEN_DATA)
            x = data["logit"].astype(np.float64)
            data["logit"] = x - np.logaddexp.reduce(x)

        def backend_init(_smpl: Any, _buft: Any, _n: int) -> bool:
            return True

        def backend_apply(_smpl: Any, ctx: Any, _gf: Any, data: Any) -> None:
            d = data.contents
            d.logits = ggml.ggml_log(ctx, ggml.ggml_soft_max(ctx, d.logits))

        fields = {f[0]: f[1] for f in i._fields_}
        callbacks = {"name": fields["name"](name), "apply": fields["apply"](apply),
                     "backend_init": fields["backend_init"](backend_init),
                     "backend_apply": fields["backend_apply"](backend_apply)}
        _stage["callbacks"] = callbacks
        _stage["iface"] = i(**callbacks)
    return ll.llama_sampler_init(ctypes.byref(_stage["iface"]), None)


def chain(ll: Any, p: SamplingParams, seed: int) -> Any:
    """One sequence's chain: log-softmax, then greedy or top-k, top-p, temperature, draw."""
    c = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
    ll.llama_sampler_chain_add(c, _log_softmax_stage(ll))
    return add_sampling(ll, c, p.temperature, p.top_p, p.top_k, seed)


def picked(ll: Any, ctx: Any, row: int, temperature: float) -> tuple[int, float]:
    """The token the device chose for output ``row`` and its log-probability."""
    token = int(ll.llama_get_sampled_token_ith(ctx, row))
    values = ll.llama_get_sampled_logits_ith(ctx, row)
    n_values = int(ll.llama_get_sampled_logits_count_ith(ctx, row))
    ids = ll.llama_get_sampled_candidates_ith(ctx, row)
    n_ids = int(ll.llama_get_sampled_candidates_count_ith(ctx, row))
    scale = temperature if temperature > 0 else 1.0
    if ids and n_ids:
        for j in range(min(n_ids, n_values)):
            if ids[j] == token:
                return token, float(values[j]) * scale
    elif values and token < n_values:
        return token, float(values[token]) * scale
    return token, -math.inf  # the device gave no value for it: rank it last
