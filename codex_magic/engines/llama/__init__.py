"""The llama.cpp engine: n candidates from a GGUF model in one batch, in this process.

``engine`` (``LlamaEngine``) loads the model and samples; ``context`` keeps the
prompt's KV cache shared by the batch; ``pickers`` choose each step's tokens on the
host (``host_sampler``, with the compiled ``rowkernel``), through llama.cpp's
chains, or on the device (``device_sampling``); ``scoring`` scores given texts in one
batched pass; ``lib`` loads llama-cpp-python's bindings once, quietly.
"""

from .engine import LlamaEngine

__all__ = ["LlamaEngine"]
