"""llama-cpp-python's low-level bindings, loaded once and kept quiet.

llama.cpp logs to stderr from C; in a notebook that would fill cells with C
logs, so its log is kept here (the last lines explain a failure) instead. Its
load-progress and abort callbacks poll ``_interrupt`` so that an interrupt
stops a model load or a long prompt's graph; they never raise into C.
"""

from __future__ import annotations

import collections
import ctypes
import os
import threading
from typing import Any

from ...runtime import interrupts
from ...types import CodexError

_LOG_LINES: collections.deque[str] = collections.deque(maxlen=200)
_lock = threading.Lock()
_ready = False
_callbacks: dict[str, Any] = {}  # ctypes callbacks must outlive every call that uses them


def llama() -> Any:
    """Import llama_cpp on first use, silence its log and initialise the backend once."""
    global _ready
    # llama.cpp's OpenMP threads spin while waiting; with any other busy process on the
    # machine (a notebook rarely runs alone) spinning made decoding 3x slower here.
    # Sleeping waiters cost little: there is one parallel region per decode step.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError as e:  # pragma: no cover - a broken install
        raise CodexError(f"llama-cpp-python is not installed or broken: {e}") from None
    with _lock:
        if not _ready:
            _callbacks["log"] = llama_cpp.llama_log_callback(_keep_log)
            _callbacks["abort"] = llama_cpp.ggml_abort_callback(_abort_requested)
            _callbacks["no_abort"] = ctypes.cast(ctypes.c_void_p(), llama_cpp.ggml_abort_callback)
            _callbacks["progress"] = llama_cpp.llama_progress_callback(_load_progress)
            llama_cpp.llama_log_set(_callbacks["log"], ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _ready = True
    return llama_cpp


def callback(name: str) -> Any:
    """One of the ctypes callbacks above: "abort", "no_abort" or "progress"."""
    return _callbacks[name]


def clear_log() -> None:
    _LOG_LINES.clear()


def last_log_error() -> str:
    """The last error-looking line llama.cpp logged, to explain a failure."""
    for line in reversed(_LOG_LINES):
        low = line.lower()
        if any(w in low for w in ("error", "failed", "invalid", "unable", "corrupt", "truncat")):
            return line.strip()
    return ""


def _keep_log(level: int, text: bytes, user_data: Any) -> None:
    try:
        _LOG_LINES.append(text.decode("utf-8", "replace").rstrip("\n"))
    except BaseException:  # never raise into C
        pass


def _load_progress(progress: float, user_data: Any) -> bool:
    """llama.cpp's model-load callback: False stops loading."""
    try:
        if interrupts.hook is not None and progress > 0.0:
            interrupts.hook("loading-tensors")
        return not interrupts.requested()
    except BaseException:
        return False


def _abort_requested(user_data: Any) -> bool:
    """llama.cpp's abort callback: True stops the running graph."""
    try:
        if interrupts.hook is not None:
            interrupts.hook("prefill-graph")
        return interrupts.requested()
    except BaseException:
        return True


def add_sampling(ll: Any, chain: Any, temperature: float, top_p: float, top_k: int,
                 seed: int) -> Any:
    """Append greedy, or top-k, top-p, temperature and the seeded draw, to a sampler
    chain (the order of llama.cpp's own default chain); return the chain."""
    if temperature <= 0.0:
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        return chain
    if top_k > 0:
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(top_k))
    if top_p < 1.0:
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(top_p, 1))
    ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(temperature))
    ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(seed))
    return chain
