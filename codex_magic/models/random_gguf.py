"""Random-weight GGUF models of real model shapes, for tests and benchmarks.

No model weights can be downloaded where codex_magic is tested, and a decode
step costs the same whatever the weights' values are: what matters is the
shape (layers, widths, heads, vocabulary size) and the storage type. This
module writes a GGUF file with the right shape and seeded random weights, so a
test can load a model in milliseconds ("tiny") and a benchmark can time a
Qwen2.5-Coder 1.5B or 7B without its weights.

What the files are:

* architecture ``llama`` (RMSNorm, RoPE, SwiGLU, grouped-query attention). The
  Qwen2.5-Coder shapes use Qwen2's real dimensions, head counts, KV heads,
  vocabulary size, RoPE base and RMS epsilon, its Q/K/V biases and its tied (1.5B)
  or separate (7B) output matrix, in llama's layout. llama.cpp's ``qwen2``
  graph is the same work with NEOX-style RoPE, so speed and memory match; the
  text does not, since the weights are random.
* an SPM-style vocabulary: ``<unk>``, ``<s>``, ``</s>`` (ids 0, 1, 2), the 256 byte
  tokens ``<0x00>``…``<0xFF>``, ``▁`` (a space) and filler tokens ``▁t<i>`` up to
  the vocabulary size. ASCII text tokenizes to one byte token per character
  (a space to ``▁``) and detokenizes back exactly (no space prefix is added,
  as with Qwen's tokenizer). The fillers are never produced by tokenizing, but
  a random model samples them, so generated text is words like `` t1234``.
* weights drawn from N(0, 0.02²) (norms 1, biases 0) by ``numpy`` with ``seed``,
  stored as F32 or F16; ``dtype="q4_k_m"`` writes F16 and quantizes it with
  llama.cpp's own ``llama_model_quantize`` (the usual Q4_K_M mix: Q4_K with some
  Q6_K; tensors whose rows are not a multiple of 256 fall back to other types,
  as in the "tiny" shape).

``python -m codex_magic.models.random_gguf SHAPE OUT.gguf [--dtype f16|f32|q4_k_m] [--seed S]``
writes one from the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DTYPES", "SHAPES", "ModelShape", "parameter_count", "write_random_gguf"]

DTYPES = ("f32", "f16", "q4_k_m")
INIT_STD = 0.02
N_CONTROL = 3  # <unk>, <s>, </s>
N_BYTES = 256
SPACE_PIECE = "\u2581"  # SentencePiece's "▁"


@dataclass(frozen=True)
class ModelShape:
    """The dimensions that decide a decoder-only transformer's speed and memory."""

    n_layers: int
    d_model: int
    d_ff: int
    n_heads: int
    n_kv_heads: int
    n_vocab: int
    n_ctx: int
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    tied_embeddings: bool = False
    qkv_bias: bool = False

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError(f"heads do not divide the model width: {self}")
        if self.n_vocab < N_CONTROL + N_BYTES + 1:
            raise ValueError(f"n_vocab must be at least {N_CONTROL + N_BYTES + 1}: {self}")


# Dimensions from each model's config.json (Hugging Face, Qwen/Qwen2.5-Coder-*).
SHAPES: dict[str, ModelShape] = {
    # 2 layers, loads in milliseconds: for tests of mechanics, not of speed.
    "tiny": ModelShape(n_layers=2, d_model=64, d_ff=128, n_heads=4, n_kv_heads=2,
                       n_vocab=512, n_ctx=2048, tied_embeddings=True, qkv_bias=True),
    "qwen2.5-coder-0.5b": ModelShape(n_layers=24, d_model=896, d_ff=4864, n_heads=14,
                                     n_kv_heads=2, n_vocab=151936, n_ctx=32768,
                                     rope_theta=1e6, rms_eps=1e-6, tied_embeddings=True,
                                     qkv_bias=True),
    "qwen2.5-coder-1.5b": ModelShape(n_layers=28, d_model=1536, d_ff=8960, n_heads=12,
                                     n_kv_heads=2, n_vocab=151936, n_ctx=32768,
                                     rope_theta=1e6, rms_eps=1e-6, tied_embeddings=True,
                                     qkv_bias=True),
    "qwen2.5-coder-7b": ModelShape(n_layers=28, d_model=3584, d_ff=18944, n_heads=28,
                                   n_kv_heads=4, n_vocab=152064, n_ctx=32768,
                                   rope_theta=1e6, rms_eps=1e-6, tied_embeddings=False,
                                   qkv_bias=True),
}


def _tensor_shapes(s: ModelShape) -> list[tuple[str, tuple[int, ...]]]:
    """(name, numpy shape) of every tensor, in file order; numpy shapes are (rows=out, cols=in)."""
    kv = s.n_kv_heads * s.head_dim
    out: list[tuple[str, tuple[int, ...]]] = [("token_embd.weight", (s.n_vocab, s.d_model))]
    for i in range(s.n_layers):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (s.d_model,)),
            (b + "attn_q.weight", (s.d_model, s.d_model)),
            (b + "attn_k.weight", (kv, s.d_model)),
            (b + "attn_v.weight", (kv, s.d_model)),
        ]
        if s.qkv_bias:
            out += [(b + "attn_q.bias", (s.d_model,)), (b + "attn_k.bias", (kv,)),
                    (b + "attn_v.bias", (kv,))]
        out += [
            (b + "attn_output.weight", (s.d_model, s.d_model)),
            (b + "ffn_norm.weight", (s.d_model,)),
            (b + "ffn_gate.weight", (s.d_ff, s.d_model)),
            (b + "ffn_up.weight", (s.d_ff, s.d_model)),
            (b + "ffn_down.weight", (s.d_model, s.d_ff)),
        ]
    out.append(("output_norm.weight", (s.d_model,)))
    if not s.tied_embeddings:
        out.append(("output.weight", (s.n_vocab, s.d_model)))
    return out


def parameter_count(shape: str | ModelShape) -> int:
    """How many weights a model of this shape has (tied embeddings counted once)."""
    s = SHAPES[shape] if isinstance(shape, str) else shape
    return sum(int(np.prod(dims)) for _, dims in _tensor_shapes(s))


def _vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    from gguf import TokenType

    tokens = ["<unk>", "<s>", "</s>"]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(N_BYTES)]
    types += [TokenType.BYTE] * N_BYTES
    tokens.append(SPACE_PIECE)
    types.append(TokenType.NORMAL)
    # Fillers can never be formed by SPM merges (no two-character prefix of them is a token).
    n_fill = n_vocab - len(tokens)
    tokens += [f"{SPACE_PIECE}t{i}" for i in range(n_fill)]
    types += [TokenType.NORMAL] * n_fill
    scores = [0.0] * (N_CONTROL + N_BYTES) + [-1.0] + [-2.0 - i for i in range(n_fill)]
    return tokens, scores, [int(t) for t in types]


def _random_tensor(rng: np.random.Generator, name: str, dims: tuple[int, ...],
                   dtype: type[np.floating]) -> np.ndarray:
    if name.endswith("norm.weight"):
        return np.ones(dims, dtype=np.float32)  # ggml wants 1-D tensors in F32
    if name.endswith(".bias"):
        return np.zeros(dims, dtype=np.float32)
    out = np.empty(dims, dtype=dtype)
    rows_per_chunk = max(1, (1 << 24) // dims[-1])  # ~64 MB of float32 at a time
    for r in range(0, dims[0], rows_per_chunk):
        chunk = rng.standard_normal((min(rows_per_chunk, dims[0] - r), dims[1]), dtype=np.float32)
        chunk *= INIT_STD
        out[r:r + len(chunk)] = chunk
    return out


def _write_float(path: Path, name: str, s: ModelShape, dtype: str, seed: int) -> None:
    from gguf import GGUFWriter, LlamaFileType

    np_dtype = np.float16 if dtype == "f16" else np.float32
    w = GGUFWriter(path, "llama")
    w.add_name(f"random-weight {name}")
    w.add_description(f"random weights (seed {seed}) in the shape of {name}; not a real model")
    w.add_file_type(LlamaFileType.MOSTLY_F16 if dtype == "f16" else LlamaFileType.ALL_F32)
    w.add_context_length(s.n_ctx)
    w.add_embedding_length(s.d_model)
    w.add_feed_forward_length(s.d_ff)
    w.add_block_count(s.n_layers)
    w.add_head_count(s.n_heads)
    w.add_head_count_kv(s.n_kv_heads)
    w.add_rope_dimension_count(s.head_dim)
    w.add_rope_freq_base(s.rope_theta)
    w.add_layer_norm_rms_eps(s.rms_eps)
    w.add_vocab_size(s.n_vocab)

    tokens, scores, types = _vocab(s.n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)

    # Tensor infos first, then the data one tensor at a time: a 7B model never sits in memory.
    layout = _tensor_shapes(s)
    for tname, dims in layout:
        is_1d = len(dims) == 1
        item = np.dtype(np.float32 if is_1d else np_dtype)
        w.add_tensor_info(tname, dims, item, int(np.prod(dims)) * item.itemsize)
    w.write_header_to_file(path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for tname, dims in layout:
        w.write_tensor_data(_random_tensor(rng, tname, dims, np_dtype))
    w.close()


def _quantize(src: Path, dst: Path, ftype: int) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    params.ftype = ftype
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(),
                                        llama_cpp.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({src} -> {dst}) failed with code {rc}")


def write_random_gguf(path: str | os.PathLike[str], shape: str | ModelShape = "tiny", *,
                      dtype: str = "f16", seed: int = 0) -> Path:
    """Write a random-weight GGUF model of ``shape`` (a key of ``SHAPES``, or a ``ModelShape``).

    ``dtype`` is ``"f32"``, ``"f16"`` or ``"q4_k_m"`` (F16 quantized by llama.cpp,
    which must be installed). The same ``shape``, ``dtype`` and ``seed`` give the
    same weights. Returns ``path`` as a ``Path``.
    """
    if isinstance(shape, ModelShape):
        s, name = shape, "custom shape"
    elif shape in SHAPES:
        s, name = SHAPES[shape], shape
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    dtype = dtype.lower()
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if dtype in ("f32", "f16"):
        _write_float(path, name, s, dtype, seed)
        return path
    import llama_cpp

    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".random-gguf-") as tmp:
        f16 = Path(tmp) / "f16.gguf"
        _write_float(f16, name, s, "f16", seed)
        _quantize(f16, path, llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codex_magic.models.random_gguf",
        description="Write a random-weight GGUF model of a real model's shape.")
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("out", type=Path, help="the .gguf file to write")
    parser.add_argument("--dtype", default="f16", choices=DTYPES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out = write_random_gguf(args.out, args.shape, dtype=args.dtype, seed=args.seed)
    print(f"{out}: {args.shape}, {args.dtype}, {parameter_count(args.shape):,} parameters, "
          f"{out.stat().st_size / 2**20:,.1f} MiB, {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
