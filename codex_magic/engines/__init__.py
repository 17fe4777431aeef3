"""Engines: where candidates are sampled and texts scored.

``base`` says what an engine is (``Engine``); ``factory`` gives the engine that the
options ask for and keeps one per kernel; ``sequences`` and ``repetition`` grow a
batch's candidates and end them, whatever the engine; ``llama`` runs a GGUF model in
this process with llama.cpp; ``server`` samples through an OpenAI-compatible
inference server. Nothing outside this package touches an engine's private parts.
"""

from . import repetition
from .base import Engine, EngineStats, SampleDone, TokenProgress
from .factory import engine_for, get_engine, new_seed, prepare_run, unload
from .scoring import Continuation, Scored, split
from .sequences import Sequences, StopRule, stop_rule
from .server import server_engine, server_url

__all__ = [
    "Continuation",
    "Engine",
    "EngineStats",
    "SampleDone",
    "Scored",
    "Sequences",
    "StopRule",
    "TokenProgress",
    "engine_for",
    "get_engine",
    "new_seed",
    "prepare_run",
    "repetition",
    "server_engine",
    "server_url",
    "split",
    "stop_rule",
    "unload",
]
