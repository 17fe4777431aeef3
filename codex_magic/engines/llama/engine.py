"""The llama.cpp engine: n candidates from a GGUF model in one batch.

The Codex recipe is "generate many, then pick", which is only usable in a
notebook if n candidates cost little more than one. So the prompt is decoded
once (prefill), its KV cache is shared by n sequences (``kv_unified``), and the
n sequences are then decoded together, one batched ``llama_decode`` per step.
Each sequence has its own seed. The log-probability of each sampled token under
the model (the untempered log-softmax) is recorded for ranking, without
``logits_all``.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ...runtime import Need, cpu_has_amx, interrupts, thread_reserve, usable_cores
from ...types import CodexError, Sample, SamplingParams
from ..base import EngineStats, SampleDone, TokenProgress
from ..sequences import Sequences, StopRule, stop_rule
from .context import Context
from .lib import callback, clear_log, last_log_error, llama
from .pickers import DevicePicker, HostPicker, picker_for

if TYPE_CHECKING:
    from ..scoring import Continuation, Scored


class LlamaEngine:
    """A GGUF model loaded once, sampling batches of candidates."""

    def __init__(self, path: str | os.PathLike[str], *, n_gpu_layers: int | None = None,
                 n_threads: int | None = None, flash_attn: bool | None = None,
                 n_ctx: int | None = None) -> None:
        self.ll = ll = llama()
        self.path = Path(path)
        self.name = self.path.name
        self.gpu = bool(ll.llama_supports_gpu_offload())
        if n_gpu_layers is None:
            n_gpu_layers = -1 if self.gpu else 0  # -1: every layer
        self.n_gpu_layers = n_gpu_layers
        self.n_threads = n_threads or usable_cores()
        self.flash_attn = flash_attn
        self.n_ctx_cap = n_ctx  # --n-ctx: the most context tokens a run may allocate
        self.stats = EngineStats()
        self._context: Context | None = None
        self._lock = threading.Lock()

        t0 = time.perf_counter()
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = n_gpu_layers
        # llama.cpp's AMX weight repacking crashes (SIGSEGV in ggml_backend_amx_mul_mat) on
        # the Xeon CPUs with AMX we test on; the plain CPU path is safe everywhere. On
        # other CPUs the weights are repacked for faster matrix products, into a copy.
        self.repack = not cpu_has_amx()
        mparams.use_extra_bufts = self.repack
        self._model_need().check(f"loading {self.name}",
                                 "use a smaller model (or give the kernel more memory)")
        mparams.progress_callback = callback("progress")  # polls for an interrupt
        clear_log()
        interrupts.phase("loading")
        model = ll.llama_model_load_from_file(str(self.path).encode(), mparams)
        interrupts.check()
        if not model:
            why = last_log_error()
            raise CodexError(
                f"llama.cpp could not load {self.path.name}: the file is truncated, corrupt or "
                f"of an unsupported kind, or memory ran out{' (' + why + ')' if why else ''}"
            )
        self.model_handle = model
        self.vocab = ll.llama_model_get_vocab(model)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(ll.llama_model_n_ctx_train(model))
        self._add_bos = bool(ll.llama_vocab_get_add_bos(self.vocab))
        self._pieces: dict[int, bytes] = {}
        # Seconds this call spent loading the model; get_engine sets 0 when it reuses it.
        self.load_s = time.perf_counter() - t0

    # -- tokens ---------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        ll = self.ll
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (ll.llama_token * cap)()
        n = ll.llama_tokenize(self.vocab, data, len(data), buf, cap, add_bos and self._add_bos,
                              False)
        if n < 0:
            cap = -n
            buf = (ll.llama_token * cap)()
            n = ll.llama_tokenize(self.vocab, data, len(data), buf, cap,
                                  add_bos and self._add_bos, False)
        return list(buf[:n])

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def piece(self, token: int) -> bytes:
        cached = self._pieces.get(token)
        if cached is not None:
            return cached
        buf = ctypes.create_string_buffer(64)
        n = self.ll.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.ll.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
        out = buf.raw[:n]
        self._pieces[token] = out
        return out

    def is_eog(self, token: int) -> bool:
        return bool(self.ll.llama_vocab_is_eog(self.vocab, token))

    # -- memory: refuse before llama.cpp would abort (see _limits.Need) -------------------

    def _model_need(self) -> Need:
        size = self.path.stat().st_size
        # The file is mapped (address space, page cache); a repacked copy is real memory.
        copy = size if self.repack and not (self.gpu and self.n_gpu_layers) else 0
        return Need(virtual=size + copy + thread_reserve(self.n_threads + 1), resident=copy)

    def context_for(self, n_seq: int, n_ctx: int) -> Context:
        """A context for ``n_seq`` sequences of ``n_ctx`` cells: the kept one when it fits
        (its KV cache holds the last prompt), else a new one. Call it in a ``session``."""
        if self._context is None or not self._context.fits(n_seq, n_ctx):
            self._free_context()
            self._context = Context(self, n_seq, n_ctx)
            self.stats.n_ctx = self._context.n_ctx
        return self._context

    def _free_context(self) -> None:
        if self._context is not None:
            self._context.free()
            self._context = None

    def close(self) -> None:
        with self._lock:
            self._free_context()
            if getattr(self, "model_handle", None):
                self.ll.llama_model_free(self.model_handle)
                self.model_handle = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass

    @contextmanager
    def session(self) -> Iterator[LlamaEngine]:
        """One call's hold on the model: calls from several threads take turns, and a call
        that fails or is interrupted leaves no kept prompt KV to trust."""
        with self._lock:
            try:
                yield self
            except BaseException:
                if self._context is not None:
                    self._context.kept = []
                raise

    # -- scoring (no sampling): see scoring.py ----------------------------------------

    def score(self, prompt: str, continuations: Sequence[Continuation]) -> list[Scored]:
        """The log-probs of each continuation's tokens after ``prompt``, in one batched
        pass sharing the prompt's KV cache."""
        from .scoring import score_llama

        if not continuations:
            return []
        with self.session():
            return score_llama(self, prompt, continuations)

    def complete_each(self, prompt: str, suffixes: Sequence[str], max_tokens: int,
                      stop: StopRule) -> list[str]:
        """The greedy continuation of ``prompt + suffix`` for every suffix, in one batch
        sharing the prompt's KV cache (``scoring.greedy_each``)."""
        from .scoring import greedy_each

        if not suffixes:
            return []
        with self.session():
            return greedy_each(self, prompt, suffixes, max_tokens, stop)

    # -- sampling -------------------------------------------------------------------

    def sample(self, prompt: str, params: SamplingParams, *,
               stop: StopRule | Sequence[str] = (),
               on_progress: TokenProgress | None = None,
               on_finished: SampleDone | None = None) -> list[Sample]:
        """Draw ``params.n`` completions of ``prompt`` in one batch.

        ``on_finished(i, sample)`` gets each sequence as soon as it ends. An interrupt
        stops it within a decode step; the next call starts clean.
        """
        if params.n < 1:
            raise CodexError("n must be at least 1")
        with self.session():
            return self._sample(prompt, params, stop_rule(stop), on_progress, on_finished)

    def _sample(self, prompt: str, p: SamplingParams, find_stop: StopRule,
                on_progress: TokenProgress | None, on_finished: SampleDone | None
                ) -> list[Sample]:
        n = p.n
        stats = self.stats = EngineStats()
        tokens = self.tokenize(prompt)
        n_prompt = stats.prompt_tokens = len(tokens)
        if n_prompt + p.max_tokens > self.n_ctx_train:
            raise CodexError(
                f"the prompt is {n_prompt} tokens and --max-tokens {p.max_tokens}, more than "
                f"the model's context of {self.n_ctx_train}: shorten the cell or lower "
                "--max-tokens"
            )
        n_ctx = n_prompt + n * p.max_tokens + 1
        if self.n_ctx_cap is not None and n_ctx > self.n_ctx_cap:
            raise CodexError(
                f"{n} samples of up to {p.max_tokens} tokens after a {n_prompt}-token prompt need "
                f"a context of {n_ctx} tokens, more than --n-ctx {self.n_ctx_cap}: lower "
                "--samples or --max-tokens (or raise --n-ctx)")
        ctx = self.context_for(n, n_ctx)
        stats.n_ctx = ctx.n_ctx
        seqs = Sequences([(p.seed + i) % 2**32 for i in range(n)], find_stop)
        picker = picker_for(ctx, p, seqs.seeds)
        try:
            t0 = time.perf_counter()
            stats.reused_prompt_tokens, stats.prefill_calls = ctx.prefill(tokens[:-1])
            # On the host every sequence draws from the prompt's last logits row; on the
            # device each sequence samples its own row, so the last token goes in n times.
            last = tokens[-1], n_prompt - 1
            if picker.device:
                ctx.fork(n)
                ctx.decode([(*last, s, True) for s in range(n)])
            else:
                ctx.decode([(*last, 0, True)])
                ctx.fork(n)
            ctx.kept = list(tokens)
            stats.prefill_calls += 1
            stats.prefill_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            self._decode_steps(ctx, seqs, p, picker, n_prompt, on_progress, on_finished, t0)
        finally:
            picker.close()
            ctx.trim(n, n_prompt)
        stats.decode_s = time.perf_counter() - t1
        stats.generated_tokens = seqs.generated
        if stats.first_finished_s is None:
            stats.first_finished_s = time.perf_counter() - t0
        return seqs.samples()

    def _decode_steps(self, ctx: Context, seqs: Sequences, p: SamplingParams,
                      picker: HostPicker | DevicePicker, n_prompt: int,
                      on_progress: TokenProgress | None, on_finished: SampleDone | None,
                      t0: float) -> None:
        """Choose a token for every active sequence, then decode them all; repeat."""
        stats, n = self.stats, len(seqs.seeds)
        # Output rows of the last decode: the prompt's last row for all (host), or one
        # row per sequence (device).
        row_of = list(range(n)) if picker.device else [0] * n
        n_rows = n if picker.device else 1
        for step in range(p.max_tokens):
            interrupts.phase("decode" if p.grammar is None else "decode-grammar")
            stats.steps += 1
            rows = [row_of[s] for s in seqs.active]
            picked, logprobs = picker.pick(step, seqs.active, rows, n_rows)
            going, entries, ended = [], [], []
            for s, tok, lp in zip(seqs.active, picked, logprobs, strict=True):
                piece = None if self.is_eog(tok) else self.piece(tok)
                if seqs.add(s, tok, piece, lp) and step + 1 < p.max_tokens:
                    going.append(s)
                    entries.append((tok, n_prompt + step, s, True))
                else:
                    ended.append(s)
            if ended and stats.first_finished_s is None:
                stats.first_finished_s = time.perf_counter() - t0
            seqs.active = going
            if on_progress is not None:
                on_progress(seqs.generated, seqs.finished)
            if on_finished is not None:
                for s in ended:
                    on_finished(s, seqs.sample(s))
            if not going:
                break
            for i, s in enumerate(going):
                row_of[s] = i
            n_rows = len(going)
            t = time.perf_counter()
            ctx.decode(entries)
            stats.llama_decode_s += time.perf_counter() - t
            stats.decode_calls += 1
