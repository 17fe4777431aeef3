"""Random-weight GGUF models: the files load in llama.cpp and have the shape asked for."""

from __future__ import annotations

import ctypes
import importlib.util
from pathlib import Path
from typing import Any

import pytest

gguf = pytest.importorskip("gguf")

from codex_magic.models.random_gguf import (  # noqa: E402
    SHAPES,
    ModelShape,
    main,
    parameter_count,
    write_random_gguf,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", "tiny", seed=0)


def _field(reader: Any, key: str) -> Any:
    return reader.fields[key].contents()


def test_metadata_matches_the_shape(tiny: Path) -> None:
    s = SHAPES["tiny"]
    r = gguf.GGUFReader(tiny)
    assert _field(r, "general.architecture") == "llama"
    assert _field(r, "llama.block_count") == s.n_layers
    assert _field(r, "llama.embedding_length") == s.d_model
    assert _field(r, "llama.feed_forward_length") == s.d_ff
    assert _field(r, "llama.attention.head_count") == s.n_heads
    assert _field(r, "llama.attention.head_count_kv") == s.n_kv_heads
    assert _field(r, "llama.context_length") == s.n_ctx
    assert _field(r, "llama.rope.freq_base") == pytest.approx(s.rope_theta)
    assert len(_field(r, "tokenizer.ggml.tokens")) == s.n_vocab  # type: ignore[arg-type]
    assert sum(int(t.n_elements) for t in r.tensors) == parameter_count("tiny")
    types = {t.name: t.tensor_type for t in r.tensors}
    assert types["blk.0.attn_q.weight"] == gguf.GGMLQuantizationType.F16
    assert types["blk.0.attn_norm.weight"] == gguf.GGMLQuantizationType.F32


def test_same_seed_same_file_other_seed_other_weights(tmp_path: Path, tiny: Path) -> None:
    again = write_random_gguf(tmp_path / "again.gguf", "tiny", seed=0)
    other = write_random_gguf(tmp_path / "other.gguf", "tiny", seed=1)
    assert again.read_bytes() == tiny.read_bytes()
    assert other.read_bytes() != tiny.read_bytes()


def test_real_shapes_have_their_published_parameter_counts() -> None:
    # Qwen's model cards: 0.49B, 1.54B and 7.61B parameters.
    assert round(parameter_count("qwen2.5-coder-0.5b") / 1e9, 2) == 0.49
    assert round(parameter_count("qwen2.5-coder-1.5b") / 1e9, 2) == 1.54
    assert round(parameter_count("qwen2.5-coder-7b") / 1e9, 2) == 7.62  # 7,615,616,512
    assert SHAPES["qwen2.5-coder-7b"].n_vocab == 152064
    assert SHAPES["qwen2.5-coder-1.5b"].n_kv_heads == 2


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        write_random_gguf(tmp_path / "x.gguf", "gpt-5")
    with pytest.raises(ValueError, match="unknown dtype"):
        write_random_gguf(tmp_path / "x.gguf", "tiny", dtype="q3")
    with pytest.raises(ValueError, match="heads"):
        ModelShape(n_layers=1, d_model=63, d_ff=64, n_heads=4, n_kv_heads=2, n_vocab=512,
                   n_ctx=64)


needs_llama = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                 reason="llama-cpp-python is not installed")


def _llama() -> Any:
    import llama_cpp

    return llama_cpp


@needs_llama
def test_tokenizer_round_trips_ascii_as_byte_tokens(tiny: Path) -> None:
    m = _llama().Llama(str(tiny), vocab_only=True, verbose=False)
    text = b"def f(x):\n    return x + 1  # ok"
    toks = m.tokenize(text, add_bos=False)
    assert m.detokenize(toks) == text
    assert len(toks) == len(text)  # one byte token per character, "▁" for a space
    assert m.tokenize(b"def", add_bos=False) == [3 + ord("d"), 3 + ord("e"), 3 + ord("f")]
    assert m.tokenize(b"x", add_bos=True)[0] == m.token_bos() == 1
    assert m.token_eos() == 2


@needs_llama
def test_tiny_model_decodes_tokens(tiny: Path) -> None:
    m = _llama().Llama(str(tiny), n_ctx=256, n_threads=1, seed=0, verbose=False)
    out = m.create_completion("def f(x):", max_tokens=8, temperature=0.8, top_k=40, top_p=0.95)
    choice = out["choices"][0]
    assert out["usage"]["completion_tokens"] >= 1
    assert isinstance(choice["text"], str)


def _decode_low_level(path: Path) -> int:
    """Load ``path`` with llama.cpp's C API and decode a prompt; llama_decode's return code."""
    from codex_magic.runtime.resources import cpu_has_amx

    ll = _llama()
    ll.llama_backend_init()
    mp = ll.llama_model_default_params()
    mp.use_extra_bufts = not cpu_has_amx()  # AMX repacking segfaults here (see engine.py)
    model = ll.llama_model_load_from_file(str(path).encode(), mp)
    assert model
    cp = ll.llama_context_default_params()
    cp.n_ctx, cp.n_threads, cp.n_threads_batch = 256, 1, 1
    ctx = ll.llama_init_from_model(model, cp)
    try:
        vocab = ll.llama_model_get_vocab(model)
        toks = (ll.llama_token * 32)()
        n = ll.llama_tokenize(vocab, b"def f(x):", 9, toks, 32, True, False)
        assert n == 10
        rc = ll.llama_decode(ctx, ll.llama_batch_get_one(toks, n))
        logits = ll.llama_get_logits_ith(ctx, -1)
        row = ctypes.cast(logits, ctypes.POINTER(ctypes.c_float * SHAPES["tiny"].n_vocab))
        assert all(v == v for v in row.contents)  # no NaN from random weights
        return int(rc)
    finally:
        ll.llama_free(ctx)
        ll.llama_model_free(model)


@needs_llama
@pytest.mark.parametrize("dtype", ["f32", "q4_k_m"])
def test_other_dtypes_load_and_decode(tmp_path: Path, dtype: str) -> None:
    path = write_random_gguf(tmp_path / f"tiny-{dtype}.gguf", "tiny", dtype=dtype)
    r = gguf.GGUFReader(path)
    want = {"f32": gguf.LlamaFileType.ALL_F32, "q4_k_m": gguf.LlamaFileType.MOSTLY_Q4_K_M}
    assert _field(r, "general.file_type") == want[dtype]
    assert _decode_low_level(path) == 0
    assert not list(tmp_path.glob(".random-gguf-*"))  # the F16 intermediate is gone


@needs_llama
def test_untied_shape_loads(tmp_path: Path) -> None:
    shape = ModelShape(n_layers=1, d_model=32, d_ff=64, n_heads=2, n_kv_heads=1, n_vocab=300,
                       n_ctx=128, tied_embeddings=False, qkv_bias=False)
    path = write_random_gguf(tmp_path / "untied.gguf", shape)
    names = {t.name for t in gguf.GGUFReader(path).tensors}
    assert "output.weight" in names and "blk.0.attn_q.bias" not in names
    m = _llama().Llama(str(path), n_ctx=64, n_threads=1, seed=0, verbose=False)
    assert m.create_completion("ab", max_tokens=3)["usage"]["completion_tokens"] >= 1


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.gguf"
    assert main(["tiny", str(out), "--dtype", "f32", "--seed", "3"]) == 0
    assert out.exists()
    assert "tiny, f32, 107,072 parameters" in capsys.readouterr().err
