"""The engine on real GGUF files: a tiny random-weight model for mechanics."""

import numpy as np
import pytest

from codex_magic.engines.llama.engine import LlamaEngine
from codex_magic.models import check_gguf
from codex_magic.models.lookup import resolve
from codex_magic.types import CodexError, SamplingParams


def draw(engine, prompt, *, stop=(), on_progress=None, **params):
    """engine.sample with the sampling parameters as keywords."""
    return engine.sample(prompt, SamplingParams(**params), stop=stop, on_progress=on_progress)


PROMPT = 'def add(a, b):\n    """Add.\n\n    >>> add(1, 2)\n    3\n    """\n'


def test_n_candidates_are_decoded_in_one_batch(tiny_engine):
    out = draw(tiny_engine, PROMPT, n=6, temperature=0.8, max_tokens=12, seed=1)
    s = tiny_engine.stats
    assert len(out) == 6
    # The prompt in one call and its last token alone (computed the same way when
    # the prompt repeats), then one llama_decode per step for all sequences: not 6 x 12.
    assert s.prefill_calls == 2
    assert s.decode_calls <= 11
    assert s.generated_tokens == sum(len(o.token_logprobs) + (o.finish_reason == "eos")
                                     for o in out)
    assert s.generated_tokens > 11


def test_seeds_make_samples_reproducible(tiny_engine):
    a = draw(tiny_engine, PROMPT, n=4, temperature=0.9, max_tokens=10, seed=7)
    b = draw(tiny_engine, PROMPT, n=4, temperature=0.9, max_tokens=10, seed=7)
    c = draw(tiny_engine, PROMPT, n=4, temperature=0.9, max_tokens=10, seed=8)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.token_logprobs for x in a] == [x.token_logprobs for x in b]
    assert [x.text for x in a] != [x.text for x in c]
    assert [x.seed for x in a] == [7, 8, 9, 10]


def assert_true_logprobs(model, engine, prompt, samples, tol=2e-3):
    """Each sampled token's log-prob equals an independent full forward pass's
    (llama-cpp-python's Llama with logits_all), to ``tol``."""
    from llama_cpp import Llama

    ref = Llama(str(model), n_ctx=512, logits_all=True, verbose=False, n_threads=2)
    prompt_ids = engine.tokenize(prompt)
    for o in samples:
        assert len(o.token_ids) == len(o.token_logprobs)
        ids = prompt_ids + list(o.token_ids)
        ref.reset()
        ref.eval(ids)
        logits = np.array(ref.scores[: len(ids)], dtype=np.float64)
        logsm = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        for j, lp in enumerate(o.token_logprobs):
            row = logsm[len(prompt_ids) - 1 + j]
            assert abs(np.exp(row).sum() - 1.0) < 1e-6
            assert lp == pytest.approx(row[ids[len(prompt_ids) + j]], abs=tol)
            assert lp <= 0.0


def test_logprobs_are_true_log_probabilities(tiny_model, tiny_engine):
    out = draw(tiny_engine, PROMPT, n=3, temperature=1.0, top_k=0, top_p=1.0, max_tokens=8,
               seed=3)
    assert_true_logprobs(tiny_model, tiny_engine, PROMPT, out)


def test_greedy_gives_identical_candidates(tiny_engine):
    out = draw(tiny_engine, PROMPT, n=3, temperature=0.0, max_tokens=8, seed=1)
    assert len({o.text for o in out}) == 1


def test_stop_rule_cuts_and_retires_sequences(tiny_engine):
    out = draw(tiny_engine, PROMPT, n=4, temperature=1.0, top_k=0, max_tokens=40, seed=2,
                             stop=lambda text: 0 if len(text) >= 3 else None)
    assert all(o.finish_reason == "stop" and o.text == "" for o in out)
    assert tiny_engine.stats.generated_tokens < 4 * 40


def test_interrupt_leaves_no_half_state(tiny_engine):
    expected = draw(tiny_engine, PROMPT, n=3, temperature=0.8, max_tokens=10, seed=11)

    def interrupt(tokens, finished):
        if tokens > 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        draw(tiny_engine, PROMPT + "x = 1\n", n=3, temperature=0.8, max_tokens=10, seed=11,
                           on_progress=interrupt)
    again = draw(tiny_engine, PROMPT, n=3, temperature=0.8, max_tokens=10, seed=11)
    assert [o.text for o in again] == [o.text for o in expected]


def test_prompt_kv_is_reused_when_the_prompt_repeats(tiny_engine):
    first = draw(tiny_engine, PROMPT, n=2, temperature=0.8, max_tokens=6, seed=4)
    second = draw(tiny_engine, PROMPT, n=2, temperature=0.8, max_tokens=6, seed=4)
    s = tiny_engine.stats
    assert s.reused_prompt_tokens == s.prompt_tokens - 1
    assert [o.text for o in first] == [o.text for o in second]


def test_prompt_longer_than_the_context(tiny_engine):
    with pytest.raises(CodexError, match="context"):
        draw(tiny_engine, "x = 1\n" * 3000, n=1, temperature=0.0, max_tokens=8)


def test_bad_model_files(tmp_path, tiny_model):
    with pytest.raises(CodexError, match="not found"):
        resolve(str(tmp_path / "missing.gguf"))
    with pytest.raises(CodexError, match="directory"):
        check_gguf(tmp_path)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(CodexError, match="not a GGUF"):
        resolve(str(junk))
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(tiny_model.read_bytes()[: tiny_model.stat().st_size // 2])
    with pytest.raises(CodexError, match="could not load"):
        LlamaEngine(truncated)
    with pytest.raises(CodexError, match="unknown model"):
        resolve("no-such-model")
    with pytest.raises(CodexError, match="not downloaded"):
        resolve("qwen2.5-coder-7b")


def gbnf_literal(text: str) -> str:
    return 'root ::= "' + "".join(
        c if c.isalnum() or c in " ()[]:.,=+-*/<>'_" else f"\\x{ord(c):02x}" for c in text
    ) + '"'


def test_grammar_constrains_the_samples(tiny_engine):
    body = "    return a + b\n"
    out = draw(tiny_engine, PROMPT, n=3, temperature=1.0, max_tokens=40, seed=1,
                             grammar=gbnf_literal(body))
    assert [o.text for o in out] == [body] * 3
    assert all(o.finish_reason == "eos" for o in out)
    with pytest.raises(CodexError, match="invalid grammar"):
        draw(tiny_engine, PROMPT, n=1, temperature=0.0, max_tokens=4, grammar="root ::= (")


def test_host_sampler_keeps_to_top_k_and_top_p():
    from codex_magic.engines.llama.host_sampler import HostSampler

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 500)).astype(np.float32) * 3
    sampler = HostSampler(1.0, 0.5, 5, seeds=[1, 2, 3])
    picks = [sampler.sample(logits, [0, 1, 2], [0, 1, 2]) for _ in range(300)]
    for row in range(3):
        top5 = set(np.argsort(-logits[row])[:5].tolist())
        seen = {p[row] for p in picks}
        assert seen <= top5 and len(seen) >= 1
        p = np.exp(logits[row] - logits[row].max())
        order = np.argsort(-p)[:5]
        cum = np.cumsum(p[order] / p[order].sum())
        nucleus = set(order[: int(np.searchsorted(cum, 0.5)) + 1].tolist())
        assert seen <= nucleus
    # The draw follows softmax(logits / T) within the kept tokens.
    flat = np.array([[0.0, np.log(3.0)] + [-1e9] * 8], dtype=np.float32)
    s = HostSampler(1.0, 1.0, 2, seeds=[7])
    draws = [s.sample(flat, [0], [0])[0] for _ in range(4000)]
    assert abs(draws.count(1) / 4000 - 0.75) < 0.03
    greedy = HostSampler(0.0, 1.0, 40, seeds=[0])
    expected = [int(logits[0].argmax()), int(logits[2].argmax())]
    assert greedy.sample(logits, [0, 2], [0, 1]) == expected
