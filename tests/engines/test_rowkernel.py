"""The compiled row kernel: each build (AVX-512, AVX2, portable C) against float64 and an
exact sort, on the rows that break kernels (ties, signed zeros, infinities, NaNs, a
vocabulary that is not a multiple of the group size); the numpy fallback; the build hook."""

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from codex_magic.engines.llama import host_sampler as sampling
from codex_magic.engines.llama import rowkernel as _rowkernel
from codex_magic.engines.llama.host_sampler import Rows
from codex_magic.types import CodexError

ROOT = Path(__file__).resolve().parents[2]


def exact_top(x, k):
    """Each row's k largest, by value then lower id, from a full sort in float64."""
    order = np.stack([np.lexsort((np.arange(x.shape[1]), -x[r].astype(np.float64)))[:k]
                      for r in range(len(x))])
    return order, np.take_along_axis(x, order, axis=1)


def rows_of(kind, rng, n, vocab):
    if kind == "model-like":
        x = rng.normal(-2.0, 3.0, size=(n, vocab))
        for r in range(n):
            hot = rng.choice(vocab, size=20, replace=False)
            x[r, hot] += rng.exponential(8.0, size=20) + 6.0
    elif kind == "ties":
        x = np.round(rng.normal(0, 2, size=(n, vocab)) * 2) / 2
    elif kind == "far from zero":
        x = rng.normal(0, 3, size=(n, vocab)) + rng.choice([-500.0, 200.0, 85.0], size=(n, 1))
    else:  # a narrow range: every exponential counts
        x = rng.normal(0, 0.01, size=(n, vocab))
    return x.astype(np.float32)


KINDS = ["model-like", "ties", "far from zero", "flat"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("vocab", [262_144, 151_936, 64 * 40 + 37])
def test_max_logsumexp_and_top_k_are_exact(host_kernel, kind, vocab):
    rng = np.random.default_rng(vocab)
    x = rows_of(kind, rng, 5, vocab)
    k = min(40, vocab // 64 // 8)
    info = Rows(x, k=k)
    assert info.kernel == (host_kernel != "numpy")
    exact = np.logaddexp.reduce(x.astype(np.float64), axis=1)
    assert np.abs(info.logsumexp() - exact).max() < 1e-6
    np.testing.assert_array_equal(info.max, x.max(axis=1))
    ids, vals = info.top_k(k)
    want_ids, want_vals = exact_top(x, k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(vals, want_vals)
    ids1, _ = info.top_k(1)  # another k than it was made with
    np.testing.assert_array_equal(ids1[:, 0], x.argmax(axis=1))


def test_rows_that_break_kernels(host_kernel):
    vocab = 64 * 64 + 5
    x = np.zeros((8, vocab), np.float32)
    x[0] = -0.0  # signed zeros tie with zeros: the lower ids win
    x[0, ::3] = 0.0
    x[1, -1] = 7.0  # the maximum in the tail after the last whole group
    x[2, :] = -np.inf  # masked tokens
    x[2, [5, 4000, 4100]] = [1.0, 3.0, 2.0]
    x[3, 100:] = -100.0  # terms below e^-86 of the largest
    x[4] = np.linspace(-30, 30, vocab, dtype=np.float32)[::-1]  # sorted, largest first
    x[5] = 1.0  # all equal: every value is a candidate
    x[6, 64 * 10:64 * 11] = 5.0  # one whole group at the top
    x[7] = np.float32(np.finfo(np.float32).max) / 4  # huge but finite
    k = 8
    info = Rows(x, k=k)
    ids, vals = info.top_k(k)
    want_ids, want_vals = exact_top(x, k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(vals, want_vals)
    exact = np.logaddexp.reduce(x.astype(np.float64), axis=1)
    assert np.abs(info.logsumexp() - exact).max() < 1e-6
    assert ids[0].tolist() == list(range(8)) and ids[1, 0] == vocab - 1


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nan_or_infinity_is_left_to_numpy(host_kernel, bad):
    """What a NaN or +inf logit means is numpy's answer, whichever path ran."""
    x = np.random.default_rng(3).normal(0, 2, size=(3, 64 * 80)).astype(np.float32)
    x[1, 777] = bad
    got = Rows(x, k=4)
    assert not got.kernel
    _rowkernel.use("numpy")
    want = Rows(x, k=4)
    np.testing.assert_array_equal(got.logsumexp(), want.logsumexp())
    np.testing.assert_array_equal(got.top_k(4)[0], want.top_k(4)[0])


def test_rows_split_over_threads_give_the_same(host_kernel, monkeypatch):
    x = rows_of("model-like", np.random.default_rng(5), 9, 151_936)
    one = Rows(x, k=40)
    monkeypatch.setattr(sampling, "PARALLEL_ABOVE", 1)
    monkeypatch.setattr(sampling, "_cores", 3)
    split = Rows(x, k=40)
    np.testing.assert_array_equal(one.logsumexp(), split.logsumexp())
    np.testing.assert_array_equal(one.top_k(40)[0], split.top_k(40)[0])


def test_what_the_kernel_declines_numpy_does(host_kernel):
    x = rows_of("model-like", np.random.default_rng(6), 2, 64 * 100)
    assert not _rowkernel.takes(x.shape[1], 40)  # 100 groups: too few for a top 40
    info = Rows(x, k=40)
    assert not info.kernel
    np.testing.assert_array_equal(info.top_k(40)[0], exact_top(x, 40)[0])
    assert not Rows(x[:, ::2], k=1).kernel  # not contiguous
    assert not Rows(x.astype(np.float64), k=1).kernel


def test_the_kernel_is_built_where_ci_requires_it():
    if os.environ.get("CODEX_MAGIC_REQUIRE_KERNEL") != "1":
        pytest.skip("CODEX_MAGIC_REQUIRE_KERNEL is not set (CI sets it)")
    assert "generic" in _rowkernel.available(), f"{_rowkernel.LIBRARY} was not built"


@pytest.fixture
def fresh_choice(monkeypatch):
    """The module's choice forgotten, so the environment is read again."""
    monkeypatch.setattr(_rowkernel, "_chosen", False)
    monkeypatch.setattr(_rowkernel, "_level", None)
    yield
    monkeypatch.undo()


def test_the_environment_chooses_and_bad_values_get_one_line(fresh_choice, monkeypatch):
    monkeypatch.setenv("CODEX_MAGIC_HOST_KERNEL", "NumPy")
    assert _rowkernel.current() is None
    monkeypatch.setattr(_rowkernel, "_chosen", False)
    monkeypatch.setenv("CODEX_MAGIC_HOST_KERNEL", "sse9")
    with pytest.raises(CodexError, match="CODEX_MAGIC_HOST_KERNEL=sse9: choose one of auto, "):
        _rowkernel.current()
    monkeypatch.setattr(_rowkernel, "available", lambda: ["generic"])
    with pytest.raises(CodexError, match=r"avx512 is not available: this CPU runs generic$"):
        _rowkernel.use("avx512")
    _rowkernel.use("auto")
    assert _rowkernel.current() == "generic"


def test_without_the_library_numpy_samples(fresh_choice, monkeypatch, tmp_path):
    monkeypatch.setattr(_rowkernel, "LIBRARY", tmp_path / "librowkernel.so")
    monkeypatch.setattr(_rowkernel, "_loaded", False)
    monkeypatch.setattr(_rowkernel, "_lib", None)
    assert _rowkernel.available() == [] and _rowkernel.current() is None
    with pytest.raises(CodexError, match="not available: the compiled kernel is not built"):
        _rowkernel.use("generic")
    x = rows_of("model-like", np.random.default_rng(2), 2, 151_936)
    info = Rows(x, k=40)
    assert not info.kernel
    np.testing.assert_array_equal(info.top_k(40)[0], exact_top(x, 40)[0])


@pytest.mark.skipif(sys.platform == "win32", reason="the build hook's compiler is cc here")
def test_the_build_hook_compiles_or_says_why(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT))
    try:
        import hatch_build
    finally:
        sys.path.remove(str(ROOT))
    (tmp_path / hatch_build.SOURCE).parent.mkdir(parents=True)
    shutil.copy(ROOT / hatch_build.SOURCE, tmp_path / hatch_build.SOURCE)
    if hatch_build.compiler() is None:
        pytest.skip("no C compiler on this machine")
    assert hatch_build.build(tmp_path) is None
    import ctypes

    lib = ctypes.CDLL(str(tmp_path / hatch_build.LIBRARY))
    assert lib.cm_levels() & 1
    (tmp_path / hatch_build.LIBRARY).unlink()
    monkeypatch.setenv("CC", "false")  # a compiler that fails
    why = hatch_build.build(tmp_path)
    assert why is not None and "failed" in why
    assert not (tmp_path / hatch_build.LIBRARY).exists()
