"""Sampling: n candidates from a GGUF model in one batch, with llama.cpp.

The Codex recipe is "generate many, then pick", which is only usable in a
notebook if n candidates cost little more than one. So the prompt is decoded
once (prefill), its KV cache is shared by n sequences (``kv_unified``), and the
n sequences are then decoded together, one batched ``llama_decode`` per step.
Each sequence has its own sampler chain and seed. The log-probability of each
sampled token under the model (the untempered log-softmax) is recorded for
ranking, without ``logits_all``.

``Engine`` is the narrow interface the pipeline uses; ``LlamaEngine`` is the
llama.cpp implementation, talking to llama-cpp-python's low-level bindings.
"""

from __future__ import annotations

import collections
import ctypes
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import _interrupt
from ._limits import cpu_has_amx, memory_room, usable_cores
from .types import CodexError, Sample

StopRule = Callable[[str], "int | None"]  # text so far -> where it ends, or None
TokenProgress = Callable[[int, int], None]  # (tokens generated, sequences finished)


class Engine(Protocol):
    """What the pipeline needs from a model backend."""

    name: str
    n_ctx_train: int

    def count_tokens(self, text: str) -> int: ...

    def sample(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        top_p: float = 0.95,
        top_k: int = 40,
        max_tokens: int = 256,
        seed: int = 0,
        stop: StopRule | Sequence[str] = (),
        on_progress: TokenProgress | None = None,
        grammar: str | None = None,
    ) -> list[Sample]: ...


@dataclass
class EngineStats:
    """Counters of the last ``sample`` call, for tests, ``--timings`` and benchmarks."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0  # prompt tokens whose KV was kept from the previous call
    generated_tokens: int = 0
    decode_calls: int = 0  # llama_decode calls for the generation steps
    prefill_calls: int = 0
    first_finished_s: float | None = None
    n_ctx: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# -- llama.cpp's log: kept, not printed (a notebook should not fill with C logs) ----------

_LOG_LINES: collections.deque[str] = collections.deque(maxlen=200)
_log_callback: Any = None
_backend_lock = threading.Lock()
_backend_ready = False


def _llama() -> Any:
    """Import llama_cpp on first use, silence its log and initialise the backend once."""
    global _log_callback, _backend_ready
    # llama.cpp's OpenMP threads spin while waiting; with any other busy process on the
    # machine (a notebook rarely runs alone) spinning made decoding 3x slower here.
    # Sleeping waiters cost little: there is one parallel region per decode step.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError as e:  # pragma: no cover - a broken install
        raise CodexError(f"llama-cpp-python is not installed or broken: {e}") from None
    with _backend_lock:
        if not _backend_ready:

            @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
            def _keep(level: int, text: bytes, user_data: Any) -> None:
                try:
                    _LOG_LINES.append(text.decode("utf-8", "replace").rstrip("\n"))
                except Exception:  # never raise into C
                    pass

            _log_callback = _keep
            llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
            global _ABORT_CB, _NO_ABORT
            _ABORT_CB = llama_cpp.ggml_abort_callback(_abort_requested)
            _NO_ABORT = ctypes.cast(None, llama_cpp.ggml_abort_callback)
            llama_cpp.llama_backend_init()
            _backend_ready = True
    return llama_cpp


def last_log_error() -> str:
    """The last error-looking line llama.cpp logged, to explain a failure."""
    for line in reversed(_LOG_LINES):
        low = line.lower()
        if any(w in low for w in ("error", "failed", "invalid", "unable", "corrupt", "truncat")):
            return line.strip()
    return ""


def stop_rule(stop: StopRule | Sequence[str]) -> StopRule:
    if callable(stop):
        return stop
    stops = tuple(s for s in stop if s)

    def find(text: str) -> int | None:
        hits = [i for i in (text.find(s) for s in stops) if i != -1]
        return min(hits) if hits else None

    return find


class LlamaEngine:
    """A GGUF model loaded once, sampling batches of candidates."""

    def __init__(self, path: str | os.PathLike[str], *, n_gpu_layers: int | None = None,
                 n_threads: int | None = None, flash_attn: bool | None = None) -> None:
        self._ll = ll = _llama()
        self.path = Path(path)
        self.name = self.path.name
        self.gpu = bool(ll.llama_supports_gpu_offload())
        if n_gpu_layers is None:
            n_gpu_layers = -1 if self.gpu else 0  # -1: every layer
        self.n_gpu_layers = n_gpu_layers
        self.n_threads = n_threads or usable_cores()
        self.flash_attn = flash_attn
        self.stats = EngineStats()
        self._ctx: Any = None
        self._ctx_n_ctx = 0
        self._ctx_n_seq = 0
        self._batch: Any = None
        self._batch_size = 0
        self._kept: list[int] = []  # prompt tokens whose KV sequence 0 still holds
        self._lock = threading.Lock()

        t0 = time.perf_counter()
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = n_gpu_layers
        # llama.cpp's AMX weight repacking crashes (SIGSEGV in ggml_backend_amx_mul_mat) on
        # the Xeon CPUs with AMX we test on; the plain CPU path is safe everywhere. On
        # other CPUs the weights are repacked for faster matrix products, into a copy.
        self.repack = not cpu_has_amx()
        mparams.use_extra_bufts = self.repack
        self._check_room_for_model()
        # Loading polls for an interrupt between tensors (see _interrupt).
        self._load_cb = ll.llama_progress_callback(_load_progress)
        mparams.progress_callback = self._load_cb
        _LOG_LINES.clear()
        _interrupt.phase("loading")
        model = ll.llama_model_load_from_file(str(self.path).encode(), mparams)
        _interrupt.check()
        if not model:
            why = last_log_error()
            raise CodexError(
                f"llama.cpp could not load {self.path.name}: the file is truncated, corrupt or "
                f"of an unsupported kind, or memory ran out{' (' + why + ')' if why else ''}"
            )
        self._model = model
        self._vocab = ll.llama_model_get_vocab(model)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self._vocab))
        self.n_ctx_train = int(ll.llama_model_n_ctx_train(model))
        self._add_bos = bool(ll.llama_vocab_get_add_bos(self._vocab))
        self._pieces: dict[int, bytes] = {}
        # Seconds this call spent loading the model; get_engine sets 0 when it reuses it.
        self.load_s = time.perf_counter() - t0

    # -- tokens ---------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        ll = self._ll
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (ll.llama_token * cap)()
        n = ll.llama_tokenize(self._vocab, data, len(data), buf, cap, add_bos and self._add_bos,
                              False)
        if n < 0:
            cap = -n
            buf = (ll.llama_token * cap)()
            n = ll.llama_tokenize(self._vocab, data, len(data), buf, cap,
                                  add_bos and self._add_bos, False)
        return list(buf[:n])

    # -- memory: refuse before llama.cpp would abort ---------------------------------

    def _check_room_for_model(self) -> None:
        size = self.path.stat().st_size
        # The file is mapped (address space, page cache); a repacked copy is real memory.
        copy = size if self.repack and not (self.gpu and self.n_gpu_layers) else 0
        need = Need(virtual=size + copy + _THREAD_RESERVE * (self.n_threads + 1) + _SLACK,
                    resident=copy + _SLACK)
        need.check(f"loading {self.name}",
                   "use a smaller model (or give the kernel more memory)")

    def _context_need(self, n_seq: int, n_ctx: int) -> Need:
        """What a context of n_ctx cells for n_seq sequences allocates, generously.

        KV cache (f16 K and V per layer; every layer counted at full length), the
        compute buffer (dominated by the attention scores of a prompt batch), the
        logits of n_seq outputs in llama.cpp and in our numpy buffers (several
        vocabulary-wide arrays per step), and an allowance for graph metadata.
        """
        ll, m = self._ll, self._model
        n_layer = int(ll.llama_model_n_layer(m))
        n_embd = int(ll.llama_model_n_embd(m))
        n_head = max(1, int(ll.llama_model_n_head(m)))
        n_head_kv = max(1, int(ll.llama_model_n_head_kv(m)))
        head = self._meta_int("attention.key_length") or n_embd // n_head
        head_v = self._meta_int("attention.value_length") or head
        kv = n_ctx * n_layer * n_head_kv * (head + head_v) * 2
        ubatch = min(512, n_ctx)
        compute = ubatch * n_ctx * n_head * 4 * 2 + ubatch * n_embd * 4 * 24
        logits = n_seq * self.n_vocab * 4
        host = n_seq * self.n_vocab * 8 * 3
        resident = kv + compute + logits * 2 + host + _SLACK
        return Need(virtual=resident + _THREAD_RESERVE * (self.n_threads + 1), resident=resident)

    def _meta_int(self, key: str) -> int:
        ll = self._ll
        buf = ctypes.create_string_buffer(128)
        arch = buf.value if ll.llama_model_meta_val_str(self._model, b"general.architecture",
                                                        buf, 128) > 0 else b""
        if not arch:
            return 0
        n = ll.llama_model_meta_val_str(self._model, arch + b"." + key.encode(), buf, 128)
        try:
            return int(buf.value) if n > 0 else 0
        except ValueError:
            return 0

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def piece(self, token: int) -> bytes:
        cached = self._pieces.get(token)
        if cached is not None:
            return cached
        buf = ctypes.create_string_buffer(64)
        n = self._ll.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._ll.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
        out = buf.raw[:n]
        self._pieces[token] = out
        return out

    def is_eog(self, token: int) -> bool:
        return bool(self._ll.llama_vocab_is_eog(self._vocab, token))

    # -- context ------------------------------------------------------------------

    def _ensure_context(self, n_seq: int, n_ctx: int) -> None:
        """A context whose unified KV cache holds the prompt once plus n continuations."""
        ll = self._ll
        if self._ctx is not None and self._ctx_n_seq >= n_seq and self._ctx_n_ctx >= n_ctx:
            return
        self._free_context()
        n_ctx = -(-n_ctx // 256) * 256  # llama.cpp pads the KV cache to 256 anyway
        self._context_need(n_seq, n_ctx).check(
            f"a context of {n_ctx} tokens for {n_seq} sequences",
            "lower --samples or --max-tokens (or use a smaller model)")
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = min(512, n_ctx)
        cparams.n_ubatch = min(512, n_ctx)
        cparams.n_seq_max = n_seq
        cparams.n_threads = self.n_threads
        cparams.n_threads_batch = self.n_threads
        cparams.kv_unified = True  # the prompt's cells are shared, not copied, by seq_cp
        cparams.no_perf = True
        if self.flash_attn is not None:
            cparams.flash_attn_type = int(self.flash_attn)
        _LOG_LINES.clear()
        _interrupt.phase("context")
        ctx = ll.llama_init_from_model(self._model, cparams)
        if ctx and _interrupt.requested():
            ll.llama_free(ctx)
            _interrupt.check()
        if not ctx:
            why = last_log_error()
            raise CodexError(
                f"could not create a llama.cpp context of {n_ctx} tokens for {n_seq} sequences "
                f"(out of memory?): lower --samples or --max-tokens{': ' + why if why else ''}"
            )
        self._ctx = ctx
        self._ctx_n_ctx = n_ctx
        self._ctx_n_seq = n_seq
        self._batch_size = max(cparams.n_batch, n_seq)
        self._batch = ll.llama_batch_init(self._batch_size, 0, 1)
        self._kept = []
        self.stats.n_ctx = n_ctx

    def _free_context(self) -> None:
        ll = self._ll
        if self._batch is not None:
            ll.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx is not None:
            ll.llama_free(self._ctx)
            self._ctx = None
        self._kept = []

    def close(self) -> None:
        with self._lock:
            self._free_context()
            if getattr(self, "_model", None):
                self._ll.llama_model_free(self._model)
                self._model = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass

    # -- sampling -----------------------------------------------------------------

    def _decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """One llama_decode of (token, position, sequence, wants logits) entries."""
        ll = self._ll
        b = self._batch
        for i, (tok, pos, seq, logits) in enumerate(entries):
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        b.n_tokens = len(entries)
        rc = ll.llama_decode(self._ctx, b)
        _interrupt.check()  # rc 2: the abort callback saw an interrupt
        if rc != 0:
            raise CodexError(
                f"llama_decode failed (code {rc}): the context is full or memory ran out; "
                "lower --samples or --max-tokens"
            )

    def _prefill(self, tokens: list[int]) -> None:
        """Decode the prompt into sequence 0, reusing the KV of a previous identical prefix."""
        ll = self._ll
        mem = ll.llama_get_memory(self._ctx)
        # Keep the longest common prefix with what sequence 0 holds; the last prompt
        # token is always decoded again, because its logits are needed.
        keep = 0
        limit = min(len(self._kept), len(tokens) - 1)
        while keep < limit and self._kept[keep] == tokens[keep]:
            keep += 1
        for s in range(1, self._ctx_n_seq):
            ll.llama_memory_seq_rm(mem, s, -1, -1)
        if keep == 0:
            ll.llama_memory_clear(mem, False)
        else:
            ll.llama_memory_seq_rm(mem, 0, keep, -1)
        self._kept = []
        self.stats.reused_prompt_tokens = keep
        step = self._batch_size
        # A long prompt's decode can take seconds: llama.cpp polls for an interrupt
        # between graph nodes. Only here: per node, a Python call costs a little.
        ll.llama_set_abort_callback(self._ctx, _ABORT_CB, None)
        try:
            for start in range(keep, len(tokens), step):
                _interrupt.phase("prefill")
                chunk = tokens[start : start + step]
                last = start + len(chunk) == len(tokens)
                self._decode([(t, start + j, 0, last and j == len(chunk) - 1)
                              for j, t in enumerate(chunk)])
                self.stats.prefill_calls += 1
        finally:
            ll.llama_set_abort_callback(self._ctx, _NO_ABORT, None)
        self._kept = list(tokens)

    def _sampler(self, temperature: float, top_p: float, top_k: int, seed: int,
                 grammar: str | None = None) -> Any:
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if grammar is not None:
            _LOG_LINES.clear()
            g = ll.llama_sampler_init_grammar(self._vocab, grammar.encode("utf-8"), b"root")
            if not g:
                ll.llama_sampler_free(chain)
                why = last_log_error()
                raise CodexError(f"invalid grammar{': ' + why if why else ''}")
            ll.llama_sampler_chain_add(chain, g)
        if temperature <= 0.0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
            return chain
        if top_k > 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(top_k))
        if top_p < 1.0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(top_p, 1))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(temperature))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(seed))
        return chain

    def sample(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        top_p: float = 0.95,
        top_k: int = 40,
        max_tokens: int = 256,
        seed: int = 0,
        stop: StopRule | Sequence[str] = (),
        on_progress: TokenProgress | None = None,
        grammar: str | None = None,
    ) -> list[Sample]:
        """Draw ``n`` completions of ``prompt`` in one batch; see the module docstring.

        ``grammar`` (GBNF, llama.cpp's grammar format) constrains what may be sampled.
        KeyboardInterrupt stops between two decode steps; the next call starts clean.
        """
        if n < 1:
            raise CodexError("n must be at least 1")
        with self._lock:
            try:
                return self._sample(prompt, n, temperature, top_p, top_k, max_tokens, seed,
                                    stop_rule(stop), on_progress, grammar)
            except BaseException:
                self._kept = []  # an interrupted call leaves no KV state to trust
                raise

    def _sample(self, prompt: str, n: int, temperature: float, top_p: float, top_k: int,
                max_tokens: int, seed: int, find_stop: StopRule,
                on_progress: TokenProgress | None, grammar: str | None = None) -> list[Sample]:
        ll = self._ll
        stats = self.stats = EngineStats()
        tokens = self.tokenize(prompt)
        n_prompt = len(tokens)
        stats.prompt_tokens = n_prompt
        if n_prompt + max_tokens > self.n_ctx_train:
            raise CodexError(
                f"the prompt is {n_prompt} tokens and --max-tokens {max_tokens}, more than the "
                f"model's context of {self.n_ctx_train}: shorten the cell or lower --max-tokens"
            )
        self._ensure_context(n, n_prompt + n * max_tokens + 1)

        t0 = time.perf_counter()
        self._prefill(tokens)
        stats.prefill_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        mem = ll.llama_get_memory(self._ctx)
        for s in range(1, n):
            ll.llama_memory_seq_cp(mem, 0, s, -1, -1)

        seeds = [(seed + i) % 2**32 for i in range(n)]
        # Top-k sampling runs on the host for all sequences at once (numpy); llama.cpp's
        # sampler chains, one call per sequence and step, serve grammars and top-k off.
        host = (HostSampler(temperature, top_p, top_k, seeds)
                if grammar is None and (temperature <= 0 or 0 < top_k <= 1000) else None)
        samplers = []
        try:
            for sd in seeds if host is None else ():
                samplers.append(self._sampler(temperature, top_p, top_k, sd, grammar))
        except BaseException:
            for chain in samplers:
                ll.llama_sampler_free(chain)
            raise
        pieces: list[list[bytes]] = [[] for _ in range(n)]
        token_ids: list[list[int]] = [[] for _ in range(n)]
        logprobs: list[list[float]] = [[] for _ in range(n)]
        text_bytes = [bytearray() for _ in range(n)]
        finish = ["length"] * n
        cut_at: list[int | None] = [None] * n
        active = list(range(n))
        # After the prefill, every sequence samples from the prompt's last logits row.
        rows = {s: -1 for s in active}
        n_vocab = self.n_vocab
        lse_buf = np.empty((n, n_vocab), dtype=np.float32)
        generated = 0
        try:
            for step in range(max_tokens):
                _interrupt.phase("decode" if grammar is None else "decode-grammar")
                logits = self._logits_rows(len(set(rows.values())) if step == 0 else len(active),
                                           n_vocab)
                lse = _logsumexp_rows(logits, lse_buf)
                next_entries = []
                still = []
                row_of = [rows[s] % logits.shape[0] for s in active]
                picked = host.sample(logits, row_of, active) if host is not None else None
                for i, s in enumerate(active):
                    r = row_of[i]
                    tok = (picked[i] if picked is not None
                           else int(ll.llama_sampler_sample(samplers[s], self._ctx, rows[s])))
                    logprobs[s].append(float(logits[r, tok] - lse[r]))
                    generated += 1
                    if self.is_eog(tok):
                        finish[s] = "eos"
                        logprobs[s].pop()  # the end token is not part of the code
                        continue
                    piece = self.piece(tok)
                    pieces[s].append(piece)
                    token_ids[s].append(tok)
                    text_bytes[s] += piece
                    idx = find_stop(text_bytes[s].decode("utf-8", "ignore"))
                    if idx is not None:
                        finish[s] = "stop"
                        cut_at[s] = idx
                        continue
                    if step + 1 < max_tokens:
                        still.append(s)
                        next_entries.append((tok, n_prompt + step, s, True))
                for s in active:
                    if s not in still and stats.first_finished_s is None:
                        stats.first_finished_s = time.perf_counter() - t0
                active = still
                if on_progress is not None:
                    on_progress(generated, n - len(active))
                if not active:
                    break
                rows = {s: i for i, s in enumerate(active)}
                self._decode(next_entries)
                stats.decode_calls += 1
        finally:
            for chain in samplers:
                ll.llama_sampler_free(chain)
            for s in range(1, n):
                ll.llama_memory_seq_rm(mem, s, -1, -1)
            ll.llama_memory_seq_rm(mem, 0, n_prompt, -1)
        stats.decode_s = time.perf_counter() - t1
        stats.generated_tokens = generated
        if stats.first_finished_s is None:
            stats.first_finished_s = time.perf_counter() - t0

        out = []
        for s in range(n):
            text = text_bytes[s].decode("utf-8", "replace")
            lps = logprobs[s]
            ids = token_ids[s]
            if cut_at[s] is not None:
                cut = cut_at[s]
                assert cut is not None
                # Keep the log-probs of the tokens that begin before the cut.
                cut_bytes = len(text[:cut].encode("utf-8"))
                kept, pos = 0, 0
                for p in pieces[s]:
                    if pos >= cut_bytes:
                        break
                    pos += len(p)
                    kept += 1
                lps = lps[:kept]
                ids = ids[:kept]
                text = text[:cut]
            out.append(Sample(text=text, token_logprobs=tuple(lps), finish_reason=finish[s],
                              seed=seeds[s], token_ids=tuple(ids)))
        return out

    def _logits_rows(self, n_rows: int, n_vocab: int) -> np.ndarray:
        """The logits of the last decode's output rows, as a (rows, vocab) view."""
        ptr = self._ll.llama_get_logits(self._ctx)
        return np.ctypeslib.as_array(ptr, shape=(n_rows, n_vocab))


_THREAD_RESERVE = 72 << 20  # per thread: a glibc malloc arena (64 MB of address space) + stack
_SLACK = 96 << 20  # graph metadata, backend buffers' padding, small allocations


@dataclass(frozen=True)
class Need:
    """Memory an allocation will take: address space, and real (anonymous) memory."""

    virtual: int
    resident: int

    def check(self, what: str, advice: str) -> None:
        """Refuse with one line when a limit in force leaves too little room.

        Why refuse ourselves: llama.cpp reports most failed allocations (the model,
        the KV cache, the compute buffer) as errors, but a few small ones in between
        (ggml_init's metadata buffer: GGML_ASSERT(ctx->mem_buffer != NULL) in ggml.c,
        and C++ vectors whose std::bad_alloc ends in std::terminate) abort the whole
        process. Which one fails depends on where the limit falls: under RLIMIT_AS,
        450 MB stopped the model's own mapping (a clean error), 550-700 MB the KV
        cache (clean), and 500 MB, on a CPU whose weights are repacked into a copy,
        the small allocations after the copy (abort). An estimate with a margin,
        checked before llama.cpp allocates, keeps every limit on the clean side.
        """
        for room in memory_room():
            need = self.virtual if room.virtual else self.resident
            if need > room.bytes:
                raise CodexError(
                    f"not enough memory for {what}: it needs about {need / 2**20:,.0f} MB and "
                    f"{room.what} leaves {max(room.bytes, 0) / 2**20:,.0f} MB; {advice}"
                )


def _load_progress(progress: float, user_data: Any) -> bool:
    """llama.cpp's model-load callback: False stops loading. Never raises into C."""
    try:
        if _interrupt.hook is not None and progress > 0.0:
            _interrupt.hook("loading-tensors")
        return not _interrupt.requested()
    except BaseException:
        return False


def _abort_requested(user_data: Any) -> bool:
    """llama.cpp's abort callback: True stops the running graph. Never raises into C."""
    try:
        if _interrupt.hook is not None:
            _interrupt.hook("prefill-graph")
        return _interrupt.requested()
    except BaseException:
        return True


_ABORT_CB: Any = None
_NO_ABORT: Any = None


class HostSampler:
    """Greedy, or top-k then top-p then temperature, for many sequences per step.

    The same rule as llama.cpp's chain (top_k, top_p, temp, dist) but with one
    vectorised top-k over all rows instead of one sampler call per sequence,
    each of which copies and sorts the whole vocabulary. Each sequence draws from
    its own seeded generator, so a seed reproduces its candidate.
    """

    def __init__(self, temperature: float, top_p: float, top_k: int, seeds: Sequence[int]):
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.rngs = {i: np.random.Generator(np.random.PCG64(sd)) for i, sd in enumerate(seeds)}

    def sample(self, logits: np.ndarray, rows: Sequence[int], seqs: Sequence[int]) -> list[int]:
        if self.temperature <= 0:
            best = logits.argmax(axis=1)
            return [int(best[r]) for r in rows]
        n_vocab = logits.shape[1]
        k = min(self.top_k, n_vocab)
        top = np.argpartition(logits, n_vocab - k, axis=1)[:, n_vocab - k:]
        out = []
        for r, s in zip(rows, seqs, strict=True):
            idx = top[r]
            vals = logits[r, idx].astype(np.float64)
            order = np.argsort(-vals, kind="stable")
            idx, vals = idx[order], vals[order]
            if self.top_p < 1.0:
                p = np.exp(vals - vals[0])
                cum = np.cumsum(p / p.sum())
                keep = min(int(np.searchsorted(cum, self.top_p)) + 1, len(vals))
                idx, vals = idx[:keep], vals[:keep]
            q = np.cumsum(np.exp((vals - vals[0]) / self.temperature))
            j = int(np.searchsorted(q, self.rngs[s].random() * q[-1], side="right"))
            out.append(int(idx[min(j, len(idx) - 1)]))
        return out


def _logsumexp_rows(x: np.ndarray, buf: np.ndarray | None = None) -> np.ndarray:
    """log(sum(exp(row))) per row, in a reusable buffer (this runs once per step)."""
    m = x.max(axis=1)
    out = np.subtract(x, m[:, None], out=None if buf is None else buf[: x.shape[0]])
    np.exp(out, out=out)
    return m + np.log(out.sum(axis=1))


# -- one engine per kernel: loading a model takes seconds, so keep it --------------------

_engines: dict[tuple[Any, ...], LlamaEngine] = {}
_engines_lock = threading.Lock()


def get_engine(path: str | os.PathLike[str], **settings: Any) -> LlamaEngine:
    """The engine for ``path``, loaded once per process and reused across cells.

    A different model (or different load settings) replaces the previous one, so a
    kernel holds one model's weights at a time.
    """
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, tuple(sorted(settings.items())))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            engine.load_s = 0.0
            return engine
        for old in list(_engines.values()):
            old.close()
        _engines.clear()
        engine = LlamaEngine(p, **settings)
        _engines[key] = engine
        return engine


def new_seed() -> int:
    return random.SystemRandom().randrange(2**31)
