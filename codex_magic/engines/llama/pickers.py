"""How the llama.cpp engine chooses each step's tokens, and their log-probs.

Three ways, one interface (``pick``):

- ``HostPicker``: on the host for all sequences at once (``sampling``, with the
  compiled ``rowkernel``), the default on a CPU;
- ``ChainPicker``: llama.cpp's own sampler chain per sequence, for grammars
  (and top-k off or very large), one call per sequence and step;
- ``DevicePicker``: llama.cpp's backend sampler chains, inside the graph, with
  a GPU build (``_device_sampling``).

Every log-prob is the untempered log-softmax over the whole vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...types import SamplingParams
from . import device_sampling as device
from .context import Context
from .host_sampler import HostSampler, Rows


class HostPicker:
    """Top-k/top-p/temperature on the host, all rows at once."""

    device = False

    def __init__(self, ctx: Context, p: SamplingParams, seeds: Sequence[int]) -> None:
        self.ctx = ctx
        self.sampler = HostSampler(p.temperature, p.top_p, p.top_k, seeds)
        self.buf = np.empty((len(seeds), ctx.engine.n_vocab), dtype=np.float32)

    def pick(self, step: int, active: Sequence[int], rows: Sequence[int],
             n_rows: int) -> tuple[list[int], list[float]]:
        logits = self.ctx.logits_rows(n_rows)
        info = Rows(logits, self.buf, k=self.sampler.k(logits.shape[1]))
        tokens, lse = self.sampler.choose(logits, rows, active, info)
        return tokens, [float(logits[r, t] - lse[r]) for r, t in zip(rows, tokens, strict=True)]

    def close(self) -> None:
        pass


class ChainPicker(HostPicker):
    """llama.cpp's sampler chain per sequence (grammars); log-probs computed here."""

    def __init__(self, ctx: Context, p: SamplingParams, seeds: Sequence[int]) -> None:
        super().__init__(ctx, p, seeds)
        self.chains: list[Any] = []
        try:
            for sd in seeds:
                self.chains.append(ctx.chain(p, sd))
        except BaseException:
            self.close()
            raise

    def pick(self, step: int, active: Sequence[int], rows: Sequence[int],
             n_rows: int) -> tuple[list[int], list[float]]:
        logits = self.ctx.logits_rows(n_rows)
        tokens = [self.ctx.sample_chain(self.chains[s], -1 if step == 0 else r)
                  for s, r in zip(active, rows, strict=True)]
        lse = Rows(logits, self.buf).logsumexp()
        return tokens, [float(logits[r, t] - lse[r]) for r, t in zip(rows, tokens, strict=True)]

    def close(self) -> None:
        for chain in self.chains:
            self.ctx.free_chain(chain)
        self.chains = []


class DevicePicker:
    """llama.cpp's backend sampler chains: the device picks, we read token and log-prob.

    Each sequence samples its own output row, so the prompt's last token is decoded
    once per sequence (see ``LlamaEngine``): ``device`` tells the engine so.
    """

    device = True

    def __init__(self, ctx: Context, p: SamplingParams, seeds: Sequence[int]) -> None:
        self.ctx, self.temperature = ctx, p.temperature
        ll = self.ll = ctx.engine.ll
        self.chains: list[Any] = []
        try:
            for s, sd in enumerate(seeds):
                self.chains.append(device.chain(ll, p, sd))
                ll.llama_set_sampler(ctx.ctx, s, self.chains[-1])
        except BaseException:
            self.close()
            raise

    def pick(self, step: int, active: Sequence[int], rows: Sequence[int],
             n_rows: int) -> tuple[list[int], list[float]]:
        got = [device.picked(self.ll, self.ctx.ctx, r, self.temperature) for r in rows]
        return [t for t, _ in got], [lp for _, lp in got]

    def close(self) -> None:
        for s, chain in enumerate(self.chains):
            self.ll.llama_set_sampler(self.ctx.ctx, s, None)  # detach before freeing
            self.ll.llama_sampler_free(chain)
        self.chains = []


def picker_for(ctx: Context, p: SamplingParams, seeds: Sequence[int]
               ) -> HostPicker | DevicePicker:
    """The way to pick: the device when it can, numpy for plain sampling, else chains."""
    engine = ctx.engine
    if p.grammar is None and device.wanted(engine.ll, engine.gpu and engine.n_gpu_layers != 0):
        return DevicePicker(ctx, p, seeds)
    if p.grammar is None and (p.temperature <= 0 or 0 < p.top_k <= 1000):
        return HostPicker(ctx, p, seeds)
    return ChainPicker(ctx, p, seeds)
