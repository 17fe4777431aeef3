"""The reverse direction (the Codex paper's Codex-D): from code to what it is for.

``function`` parses a ``%%docstring`` cell and puts a model's docstring into it safely;
``write`` samples docstrings and ranks them by back-translation, and scores the user's
docstring after a candidate's code (``--rank review``); ``explain`` has the model say
in one line what each candidate does.
"""

from .explain import explain_result, explained
from .function import parse_function
from .write import DocCandidate, DocResult, review_scores, write_docstrings

__all__ = ["DocCandidate", "DocResult", "explain_result", "explained", "parse_function",
           "review_scores", "write_docstrings"]
