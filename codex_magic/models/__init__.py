"""Models: the registry (``models/registry.json``), the lookup of a ``--model`` value,
the models folder (``store``: pull, verify), downloads (``download``, ``hub``), GGUF
files other tools keep (``discover``), and random-weight GGUF files of real shapes for
tests and benchmarks (``random_gguf``). Only ``pull`` touches the network."""

from . import store
from .download import DownloadError
from .lookup import ModelChoice, list_models, resolve
from .registry import (
    cache_dir,
    check_gguf,
    default_model_path,
    find_entry,
    models_dir,
    registry,
    sha256_file,
)
from .store import pull, verify

__all__ = ["DownloadError", "ModelChoice", "cache_dir", "check_gguf", "default_model_path",
           "find_entry", "list_models", "models_dir", "pull", "registry", "resolve",
           "sha256_file", "store", "verify"]
