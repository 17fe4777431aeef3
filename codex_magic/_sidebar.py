"""``codex_magic._sidebar``: the name the JupyterLab sidebar imports in the kernel
(``import codex_magic._sidebar as _cms``), kept so a sidebar and a kernel of different
versions still talk; the code is ``codex_magic.frontends.sidebar``."""

from .frontends.sidebar import generate, schema

__all__ = ["generate", "schema"]
