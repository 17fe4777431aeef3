"""A llama.cpp context for batches: one prompt in the KV cache, n continuations.

The unified KV cache (``kv_unified``) lets n sequences share the prompt's cells
(``llama_memory_seq_cp`` copies no data), so the prompt is decoded once per
batch, and not at all when the next batch starts with the same tokens.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ...runtime import Need, interrupts, thread_reserve
from ...types import CodexError, SamplingParams
from .lib import add_sampling, callback, clear_log, last_log_error


class Loaded(Protocol):
    """What a context, the pickers and scoring read of a loaded model (``LlamaEngine``)."""

    ll: Any  # llama-cpp-python's bindings
    model_handle: Any
    vocab: Any
    n_vocab: int
    n_ctx_train: int
    n_ctx_cap: int | None  # --n-ctx
    n_threads: int
    flash_attn: bool | None
    gpu: bool
    n_gpu_layers: int

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]: ...
    def piece(self, token: int) -> bytes: ...
    def is_eog(self, token: int) -> bool: ...
    def context_for(self, n_seq: int, n_ctx: int) -> Context: ...


class Context:
    """A context of ``n_ctx`` cells for ``n_seq`` sequences of ``engine``'s model."""

    def __init__(self, engine: Loaded, n_seq: int, n_ctx: int) -> None:
        ll = self.ll = engine.ll
        self.engine = engine
        n_ctx = -(-n_ctx // 256) * 256  # llama.cpp pads the KV cache to 256 anyway
        need(engine, n_seq, n_ctx).check(
            f"a context of {n_ctx} tokens for {n_seq} sequences",
            "lower --samples or --max-tokens (or use a smaller model)")
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = min(512, n_ctx)
        cparams.n_ubatch = min(512, n_ctx)
        cparams.n_seq_max = n_seq
        cparams.n_threads = engine.n_threads
        cparams.n_threads_batch = engine.n_threads
        cparams.kv_unified = True  # the prompt's cells are shared, not copied, by seq_cp
        cparams.no_perf = True
        if engine.flash_attn is not None:
            cparams.flash_attn_type = int(engine.flash_attn)
        clear_log()
        interrupts.phase("context")
        ctx = ll.llama_init_from_model(engine.model_handle, cparams)
        if ctx and interrupts.requested():
            ll.llama_free(ctx)
            interrupts.check()
        if not ctx:
            why = last_log_error()
            raise CodexError(
                f"could not create a llama.cpp context of {n_ctx} tokens for {n_seq} sequences "
                f"(out of memory?): lower --samples or --max-tokens{': ' + why if why else ''}"
            )
        self.ctx = ctx
        self.n_ctx, self.n_seq = n_ctx, n_seq
        self.batch_size = max(cparams.n_batch, n_seq)
        self.batch = ll.llama_batch_init(self.batch_size, 0, 1)
        self.mem = ll.llama_get_memory(ctx)
        self.kept: list[int] = []  # prompt tokens whose KV sequence 0 still holds

    def fits(self, n_seq: int, n_ctx: int) -> bool:
        return self.n_seq >= n_seq and self.n_ctx >= n_ctx

    def free(self) -> None:
        if self.batch is not None:
            self.ll.llama_batch_free(self.batch)
            self.batch = None
        if self.ctx is not None:
            self.ll.llama_free(self.ctx)
            self.ctx = None
        self.kept = []

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """One llama_decode of (token, position, sequence, wants logits) entries."""
        b = self.batch
        for i, (tok, pos, seq, logits) in enumerate(entries):
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        b.n_tokens = len(entries)
        rc = self.ll.llama_decode(self.ctx, b)
        interrupts.check()  # rc 2: the abort callback saw an interrupt
        if rc != 0:
            raise CodexError(
                f"llama_decode failed (code {rc}): the context is full or memory ran out; "
                "lower --samples or --max-tokens"
            )

    def prefill(self, tokens: list[int]) -> tuple[int, int]:
        """Decode ``tokens`` into sequence 0 without logits, reusing the KV cache of the
        longest prefix it already holds. The caller decodes the prompt's last token
        itself: always alone, so a repeated prompt is computed the same way each time.

        Returns (tokens reused, decode calls).
        """
        ll, mem = self.ll, self.mem
        keep = 0
        limit = min(len(self.kept), len(tokens))
        while keep < limit and self.kept[keep] == tokens[keep]:
            keep += 1
        for s in range(1, self.n_seq):
            ll.llama_memory_seq_rm(mem, s, -1, -1)
        if keep == 0:
            ll.llama_memory_clear(mem, False)
        else:
            ll.llama_memory_seq_rm(mem, 0, keep, -1)
        self.kept = []
        calls = 0
        # A long prompt's decode can take seconds: llama.cpp polls for an interrupt
        # between graph nodes. Only here: per node, a Python call costs a little.
        ll.llama_set_abort_callback(self.ctx, callback("abort"), None)
        try:
            for start in range(keep, len(tokens), self.batch_size):
                interrupts.phase("prefill")
                chunk = tokens[start : start + self.batch_size]
                self.decode([(t, start + j, 0, False) for j, t in enumerate(chunk)])
                calls += 1
        finally:
            ll.llama_set_abort_callback(self.ctx, callback("no_abort"), None)
        self.kept = list(tokens)
        return keep, calls

    def fork(self, n: int) -> None:
        """Sequences 1..n-1 start as copies of sequence 0 (the prompt), sharing its cells."""
        for s in range(1, n):
            self.ll.llama_memory_seq_cp(self.mem, 0, s, -1, -1)

    def trim(self, n: int, n_prompt: int) -> None:
        """Drop the continuations, keeping the prompt for the next batch."""
        for s in range(1, n):
            self.ll.llama_memory_seq_rm(self.mem, s, -1, -1)
        self.ll.llama_memory_seq_rm(self.mem, 0, n_prompt, -1)

    def logits_rows(self, n_rows: int) -> np.ndarray:
        """The logits of the last decode's output rows, as a (rows, vocab) view."""
        ptr = self.ll.llama_get_logits(self.ctx)
        return np.ctypeslib.as_array(ptr, shape=(n_rows, self.engine.n_vocab))

    def chain(self, p: SamplingParams, seed: int) -> Any:
        """llama.cpp's own sampler chain for one sequence: for grammars and top-k off."""
        ll = self.ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if p.grammar is not None:
            clear_log()
            g = ll.llama_sampler_init_grammar(self.engine.vocab, p.grammar.encode("utf-8"),
                                              b"root")
            if not g:
                ll.llama_sampler_free(chain)
                why = last_log_error()
                raise CodexError(f"invalid grammar{': ' + why if why else ''}")
            ll.llama_sampler_chain_add(chain, g)
        return add_sampling(ll, chain, p.temperature, p.top_p, p.top_k, seed)

    def sample_chain(self, chain: Any, row: int) -> int:
        return int(self.ll.llama_sampler_sample(chain, self.ctx, row))

    def free_chain(self, chain: Any) -> None:
        self.ll.llama_sampler_free(chain)


def need(engine: Loaded, n_seq: int, n_ctx: int) -> Need:
    """What a context of n_ctx cells for n_seq sequences allocates, generously.

    KV cache (f16 K and V per layer; every layer counted at full length), the
    compute buffer (dominated by the attention scores of a prompt batch), the
    logits of n_seq outputs in llama.cpp and in our numpy buffers (several
    vocabulary-wide arrays per step).
    """
    ll, m = engine.ll, engine.model_handle
    n_layer = int(ll.llama_model_n_layer(m))
    n_embd = int(ll.llama_model_n_embd(m))
    n_head = max(1, int(ll.llama_model_n_head(m)))
    n_head_kv = max(1, int(ll.llama_model_n_head_kv(m)))
    head = _meta_int(engine, "attention.key_length") or n_embd // n_head
    head_v = _meta_int(engine, "attention.value_length") or head
    kv = n_ctx * n_layer * n_head_kv * (head + head_v) * 2
    ubatch = min(512, n_ctx)
    compute = ubatch * n_ctx * n_head * 4 * 2 + ubatch * n_embd * 4 * 24
    logits = n_seq * engine.n_vocab * 4
    resident = kv + compute + logits * 2 + n_seq * engine.n_vocab * 8 * 3
    return Need(virtual=resident + thread_reserve(engine.n_threads + 1), resident=resident)


def _meta_int(engine: Loaded, key: str) -> int:
    """An integer from the model's GGUF metadata under its architecture, or 0."""
    ll, buf = engine.ll, ctypes.create_string_buffer(128)
    if ll.llama_model_meta_val_str(engine.model_handle, b"general.architecture", buf, 128) <= 0:
        return 0
    arch = buf.value
    n = ll.llama_model_meta_val_str(engine.model_handle, arch + b"." + key.encode(), buf, 128)
    try:
        return int(buf.value) if n > 0 else 0
    except ValueError:
        return 0
