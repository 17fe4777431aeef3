"""An engine that samples through an OpenAI-compatible inference server (vLLM,
llama.cpp's llama-server, llama-cpp-python's server): ``engine`` (``ServerEngine``),
``draw`` (one sample call's requests), ``score`` (log-probs of given text), ``client``
(HTTP, event streams, retries)."""

from .engine import NO_LOGPROBS_NOTE, ServerEngine, for_options, server_engine, server_url

__all__ = ["NO_LOGPROBS_NOTE", "ServerEngine", "for_options", "server_engine", "server_url"]
