"""codex_magic: ``%%codex`` writes a function from its docstring with a local GGUF model.

``%load_ext codex_magic`` is instant: the model, llama.cpp and the widget load
on first use.
"""

from __future__ import annotations

from typing import Any

from .types import Candidate, CodexError, Result, Verdict

__version__ = "0.1.0"
__all__ = ["Candidate", "CodexError", "Result", "Verdict", "__version__", "evaluate_problems",
           "solve"]


def solve(cell: str, **options: Any) -> Result:
    """Sample, test and rank candidates for ``cell`` (see ``codex_magic.pipeline.solve``)."""
    from .options import Options
    from .pipeline import solve as _solve

    return _solve(cell, Options(**options))


def evaluate_problems(problems: Any, **kwargs: Any) -> Any:
    """pass@k and ranking on your own problems (see ``codex_magic.evaluation``)."""
    from .evaluation import evaluate_problems as _evaluate

    return _evaluate(problems, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    from .frontends.magic import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .frontends.magic import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "codex-magic"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "codex_magic.frontends.server_extension"}]
