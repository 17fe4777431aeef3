"""Interrupts that are never lost, in every phase of a run.

A kernel interrupt (the ■ button, the sidebar's Cancel, Ctrl+C in the CLI) is a
SIGINT. Python turns it into ``KeyboardInterrupt`` at the next bytecode it runs,
and that bytecode may belong to a ctypes callback that llama.cpp calls (its log,
load-progress or abort callback): there the exception is printed and dropped,
and the run goes on for as long as the model samples. So while a run is in
progress, SIGINT only sets a flag. llama.cpp's progress and abort callbacks and
our own loops poll it, and ``check`` raises ``KeyboardInterrupt`` where Python
can carry it to the caller.

``phase(name)`` marks where a run is; tests set ``hook`` to interrupt exactly
there (the hook may send SIGINT to this process, as the kernel's interrupt does).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

_requested = threading.Event()
_depth = 0  # nested interruptible() blocks: only the outermost installs the handler

# Tests: called with each phase's name as a run enters it.
hook: Callable[[str], None] | None = None


def requested() -> bool:
    """Whether an interrupt arrived during the current run (cheap: safe to poll often)."""
    return _requested.is_set()


def request() -> None:
    """Ask the current run to stop, as SIGINT does (e.g. from another thread)."""
    _requested.set()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if an interrupt arrived."""
    if _requested.is_set():
        raise KeyboardInterrupt


def phase(name: str) -> None:
    """Mark that the run enters ``name``; stop here if an interrupt arrived."""
    if hook is not None:
        hook(name)
    check()


def _on_sigint(signum: int, frame: Any) -> None:
    _requested.set()


class interruptible:
    """While inside, SIGINT sets the flag instead of raising; at the exit it raises.

    Outside the main thread (where Python cannot install signal handlers) it only
    scopes the flag: ``request()`` still stops the run.
    """

    def __enter__(self) -> interruptible:
        global _depth
        self._previous: Any = None
        self._installed = False
        if _depth == 0:
            _requested.clear()
            if threading.current_thread() is threading.main_thread():
                self._previous = signal.signal(signal.SIGINT, _on_sigint)
                self._installed = True
        _depth += 1
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        global _depth
        _depth -= 1
        if _depth > 0:
            return
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
        arrived = _requested.is_set()
        _requested.clear()
        if arrived and kind is None:
            # The interrupt came as the run finished: the user still asked to stop.
            raise KeyboardInterrupt
