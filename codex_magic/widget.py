"""``codex_magic.widget``, kept for code that imports it: the widget is
``codex_magic.frontends.widget``."""

from .frontends.widget import CodexWidget, RunWidget, candidate_state, esm

__all__ = ["CodexWidget", "RunWidget", "candidate_state", "esm"]
