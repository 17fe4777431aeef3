"""Sampling inside llama.cpp's graph (the GPU path), run here on the CPU build.

CODEX_MAGIC_DEVICE_SAMPLING=1 forces it: llama.cpp then runs the same backend
sampler chains on its CPU backend, so the mechanics are tested without a GPU.
"""

import numpy as np
import pytest

from codex_magic.engines.llama import device_sampling as _device_sampling
from codex_magic.engines.llama.engine import LlamaEngine
from codex_magic.types import SamplingParams
from tests.engines.test_engine import PROMPT, assert_true_logprobs


@pytest.fixture
def on_device(monkeypatch):
    monkeypatch.setenv("CODEX_MAGIC_DEVICE_SAMPLING", "1")


def test_the_feature_is_detected_and_off_on_a_cpu_build(tiny_engine, monkeypatch):
    ll = tiny_engine.ll
    assert _device_sampling.available(ll)
    monkeypatch.delenv("CODEX_MAGIC_DEVICE_SAMPLING", raising=False)
    assert _device_sampling.wanted(ll, gpu=False) is False
    assert _device_sampling.wanted(ll, gpu=True) is True
    monkeypatch.setenv("CODEX_MAGIC_DEVICE_SAMPLING", "0")
    assert _device_sampling.wanted(ll, gpu=True) is False


def test_log_probs_are_exact_and_seeds_reproduce(tiny_model, on_device):
    engine = LlamaEngine(tiny_model)
    try:
        params = SamplingParams(n=3, temperature=0.9, top_k=40, top_p=0.95, max_tokens=8, seed=5)
        out = engine.sample(PROMPT, params)
        again = engine.sample(PROMPT, params)
        assert [o.text for o in out] == [o.text for o in again]
        assert [o.seed for o in out] == [5, 6, 7]
        assert_true_logprobs(tiny_model, engine, PROMPT, out)
    finally:
        engine.close()


def test_greedy_on_the_device_equals_greedy_on_the_host(tiny_model, monkeypatch):
    engine = LlamaEngine(tiny_model)
    try:
        params = SamplingParams(n=2, temperature=0.0, max_tokens=10, seed=1)
        monkeypatch.setenv("CODEX_MAGIC_DEVICE_SAMPLING", "0")
        host = engine.sample(PROMPT, params)
        monkeypatch.setenv("CODEX_MAGIC_DEVICE_SAMPLING", "1")
        device = engine.sample(PROMPT, params)
        assert [o.text for o in device] == [o.text for o in host]
        for d, h in zip(device, host, strict=True):
            assert np.allclose(d.token_logprobs, h.token_logprobs, atol=1e-4)
    finally:
        engine.close()
