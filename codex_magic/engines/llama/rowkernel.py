"""The compiled row kernel (``rowkernel.c``), loaded with ctypes.

Each logits row's maximum, log-sum-exp and top k, the row read from memory once, with
AVX-512, AVX2 and FMA, or portable C, chosen at run time for the CPU. The
library is built when the package is installed (``hatch_build.py``); without a
C compiler it is not, and ``sampling`` does the same work with numpy.

``CODEX_MAGIC_HOST_KERNEL`` picks one: ``auto`` (the default: the best the CPU
runs), ``avx512``, ``avx2``, ``generic`` or ``numpy``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import numpy as np

from ...types import CodexError

LEVELS = {"avx512": 4, "avx2": 2, "generic": 1}  # best first
GROUP = 64  # ids per group in rowkernel.c
CHOICES = ("auto", *LEVELS, "numpy")
# Not named like the module: Python would take a "rowkernel.so" for an extension module.
LIBRARY = Path(__file__).with_name("librowkernel" + (".dll" if sys.platform == "win32" else ".so"))

_lib: ctypes.CDLL | None = None
_loaded = False
_level: str | None = None  # the level in use; None: numpy
_chosen = False


def library() -> ctypes.CDLL | None:
    """The built library, or None where it was not built or does not load."""
    global _lib, _loaded
    if not _loaded:
        _loaded = True
        try:
            lib = ctypes.CDLL(str(LIBRARY))
        except OSError:
            return None
        p, i64 = ctypes.c_void_p, ctypes.c_int64
        lib.cm_levels.restype = ctypes.c_int
        lib.cm_levels.argtypes = []
        lib.cm_rows.restype = ctypes.c_int
        lib.cm_rows.argtypes = [p, i64, i64, i64, ctypes.c_int, p, p, p, p]
        _lib = lib
    return _lib


def available() -> list[str]:
    """The levels this CPU runs with the built library, best first (none: not built)."""
    lib = library()
    if lib is None:
        return []
    mask = lib.cm_levels()
    return [name for name, bit in LEVELS.items() if mask & bit]


def use(name: str) -> None:
    """Use a level (``auto``: the best available, ``numpy``: no kernel).

    Raises CodexError, in one line, for an unknown name or a level not available here.
    """
    global _level, _chosen
    if name not in CHOICES:
        raise CodexError(f"CODEX_MAGIC_HOST_KERNEL={name}: choose one of {', '.join(CHOICES)}")
    have = available()
    if name == "auto":
        _level = have[0] if have else None
    elif name == "numpy":
        _level = None
    elif name not in have:
        why = (f"this CPU runs {', '.join(have)}" if have else
               f"the compiled kernel is not built ({LIBRARY.name} missing)")
        raise CodexError(f"CODEX_MAGIC_HOST_KERNEL={name} is not available: {why}")
    else:
        _level = name
    _chosen = True


def current() -> str | None:
    """The level in use (from ``CODEX_MAGIC_HOST_KERNEL`` the first time), None for numpy."""
    if not _chosen:
        use(os.environ.get("CODEX_MAGIC_HOST_KERNEL", "auto").strip().lower() or "auto")
    return _level


def takes(n_vocab: int, k: int) -> bool:
    """Whether the kernel handles rows of n_vocab with top k (else numpy does): the
    arguments ``cm_rows`` accepts."""
    groups = n_vocab // GROUP
    return groups >= 8 and k >= 0 and k * 8 <= groups and n_vocab < 2**32


def rows(x: np.ndarray, k: int, out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
         ) -> None:
    """Fills out = (max, lse, ids, vals) for the C-contiguous float32 rows x.

    A row whose log-sum-exp is NaN (a NaN or an infinity in it) is left for the
    caller to redo. ``k`` must be one ``takes`` accepts.
    """
    level = current()
    lib = library()
    assert level is not None and lib is not None
    mx, lse, ids, vals = out
    rc = lib.cm_rows(x.ctypes.data, x.shape[0], x.shape[1], k, LEVELS[level],
                     mx.ctypes.data, lse.ctypes.data, ids.ctypes.data, vals.ctypes.data)
    if rc == -2:
        raise MemoryError("host kernel: out of memory")
    if rc != 0:
        raise ValueError(f"host kernel refused rows of shape {x.shape} with k={k} ({rc})")
