"""Scoring and the reverse direction's mechanics: a tiny random-weight model, and a fake
engine that writes hostile docstrings."""

import ast

import numpy as np
import pytest

from codex_magic.docstrings.function import clean, parse_function
from codex_magic.docstrings.write import backward_logprobs, reverse_prompt, write_docstrings
from codex_magic.engines.base import EngineStats
from codex_magic.engines.llama.scoring import greedy_each
from codex_magic.engines.scoring import Scored, split
from codex_magic.options import Options
from codex_magic.rank import rank
from codex_magic.types import CodexError, Sample, SamplingParams, Verdict

PROMPT = 'def add(a, b):\n    """Add.\n'
CONTINUATIONS = [
    '    >>> add(1, 2)\n    3\n    """\n    return a + b\n',
    ("    \"\"\"\n    return a + b\n\n\n# doc\ndef add(a, b):\n    \"\"\"", 'Add a and b."""'),
    "    return sum([a, b]) if a else b\n" * 2,
    "",
]


def test_scores_are_the_log_probs_of_a_full_forward_pass(tiny_model, tiny_engine):
    """Each scored token's log-prob against an independent logits_all pass of the same
    tokens; the whole set in one batched pass, the prompt decoded once."""
    from llama_cpp import Llama

    out = tiny_engine.score(PROMPT, CONTINUATIONS)
    ref = Llama(str(tiny_model), n_ctx=512, logits_all=True, verbose=False, n_threads=2)
    checked = 0
    for c, o in zip(CONTINUATIONS, out, strict=True):
        given, scored = split(c)
        full = tiny_engine.tokenize(PROMPT + given + scored)
        first = len(full) - len(o.token_ids)
        assert list(o.token_ids) == full[first:] and len(o.token_logprobs) == len(o.token_ids)
        if not scored:
            assert o.token_logprobs == () and o.mean == float("-inf")
            continue
        # The scored tokens are exactly those after the given text.
        assert first == len(tiny_engine.tokenize(PROMPT + given))
        ref.reset()
        ref.eval(full)
        logits = np.array(ref.scores[: len(full)], dtype=np.float64)
        logsm = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        for k, lp in enumerate(o.token_logprobs):
            assert lp == pytest.approx(logsm[first + k - 1, full[first + k]], abs=2e-3)
            assert lp <= 0.0
            checked += 1
    assert checked > 60


def test_scoring_reuses_the_prompt_and_repeats_exactly(tiny_engine):
    a = tiny_engine.score(PROMPT, CONTINUATIONS[:2])
    b = tiny_engine.score(PROMPT, CONTINUATIONS[:2])
    assert a == b
    # Sampling after scoring still reproduces (the KV cache is left as sampling expects).
    p = SamplingParams(n=2, temperature=0.8, max_tokens=6, seed=4)
    first = [s.text for s in tiny_engine.sample(PROMPT, p)]
    tiny_engine.score(PROMPT, CONTINUATIONS)
    assert [s.text for s in tiny_engine.sample(PROMPT, p)] == first


def test_scoring_a_text_longer_than_the_model_context(tiny_engine):
    with pytest.raises(CodexError, match="context"):
        tiny_engine.score(PROMPT, ["x = 1\n" * 3000])


def test_greedy_each_is_the_greedy_sample_of_each_prompt(tiny_engine):
    """The batched greedy completions (what explains candidates) equal one greedy sample
    per prompt: each sequence sees its own suffix only."""
    prompt, suffixes = "def f(x):\n", ["q", "hello world", "", "12345"]
    got = greedy_each(tiny_engine, prompt, suffixes, 10, lambda text: None)
    greedy = SamplingParams(n=1, temperature=0.0, max_tokens=10)
    want = [tiny_engine.sample(prompt + s, greedy)[0].text for s in suffixes]
    assert got == want and len(set(got)) > 1


def test_rank_review_orders_by_the_review_score():
    samples = [Sample(f"    return {i}\n", (-0.1 * (i + 1),), "stop", i) for i in range(4)]
    bodies = [s.text for s in samples]
    bodies[3] = "    return (\n"  # does not parse: last whatever its score
    verdicts = [Verdict(0, 0, (), "no tests")] * 3 + [Verdict(0, 0, (), "syntax error")]
    review = [-3.0, -1.0, -2.0, 0.0]
    out = rank(samples, bodies, bodies, verdicts, by="review", review=review)
    assert [c.body for c in out] == [bodies[1], bodies[2], bodies[0], bodies[3]]
    assert [c.review for c in out] == [-1.0, -2.0, -3.0, 0.0]
    with pytest.raises(ValueError):
        rank(samples, bodies, bodies, verdicts, by="review")


# -- the %%docstring pipeline with hostile model output -------------------------------------

USER = 'import math\n\n\ndef area(r):\n    return math.pi * r ** 2\n\nprint(area(1))\n'
WRITTEN = [
    '\n    Area of a circle of radius r.\n    ',
    'Area."""\nimport os; os.system("echo owned")\n',  # closes the string, then code
    "A NUL \x00 and a backslash \\ and '''quotes'''",
    "x" * 100_000,  # a 100 kB line: refused
    "   \n   ",  # empty: refused
    '\n    Area of a circle of radius r.\n    ',  # the same as the first
    'Ends with a quote"',
]


class FakeEngine:
    """Writes WRITTEN as its samples and scores each docstring by its length."""

    name, load_s = "fake", 0.0

    def __init__(self):
        self.stats = EngineStats()
        self.prompts = []
        self.scored = []

    def sample(self, prompt, params, *, stop=(), on_progress=None, on_finished=None):
        self.prompts.append(prompt)
        return [Sample(t, (-0.5,), "stop", params.seed + i)
                for i, t in enumerate(WRITTEN[: params.n])]

    def score(self, prompt, continuations):
        self.scored.append((prompt, list(continuations)))
        return [Scored((-float(len(split(c)[0])) / 100, -1.0)) for c in continuations]


def test_hostile_samples_are_refused_or_inserted_safely_and_ranked():
    engine = FakeEngine()
    result = write_docstrings(USER, Options(samples=len(WRITTEN), seed=1), engine=engine)
    fn = parse_function(USER)
    assert engine.prompts == [reverse_prompt(USER[: fn.end], "def area(r):\n", "    ")]
    assert sorted(result.refused) == ["it is 100,000 characters long", "it is empty"]
    assert sorted(c.count for c in result.candidates) == [1, 1, 1, 2]
    for c in result.candidates:
        tree = ast.parse(c.code)
        assert ast.get_docstring(tree.body[1]) == c.docstring
        # The user's code byte for byte around the docstring; no statement added.
        assert c.code.startswith(USER[: fn.doc_start])
        assert c.code.endswith(USER[fn.doc_start :])
        assert [type(n).__name__ for n in tree.body] == ["Import", "FunctionDef", "Expr"]
        assert len(tree.body[1].body) == 2
    # Back-translation: one batched scoring call, the user's body scored after each.
    ((prompt, conts),) = engine.scored
    assert prompt == USER[: fn.doc_start] and len(conts) == 4
    assert all(scored == "    return math.pi * r ** 2\n" for _, scored in conts)
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert result.best.docstring == clean(WRITTEN[-1])  # the fake favours the shortest
    data = result.to_json()
    assert all(set(c) >= {"docstring", "code", "score"} for c in data["candidates"])
    assert {r["reason"] for r in data["refused"]} == set(result.refused)


def test_backward_logprobs_score_the_docstring_after_each_body(tiny_engine):
    task = 'def add(a, b):\n    """Add a and b.\n\n    >>> add(1, 2)\n    3\n    """\n'
    bodies = ["    return a + b\n", "    return a - b\n", "    return a + b\n"]
    got = backward_logprobs(tiny_engine, task, bodies)
    assert len(got) == 3 and got[0] == got[2] and all(np.isfinite(got))
    head = 'def add(a, b):\n'
    conts = [(b + "\n\n# The same function, with a docstring that says what it does:\n"
              'def add(a, b):\n    """', 'Add a and b.\n\n    >>> add(1, 2)\n    3\n    """')
             for b in ("    return a + b\n", "    return a - b\n")]
    want = [s.mean for s in tiny_engine.score(head, conts)]
    assert got[:2] == pytest.approx(want, abs=1e-6)


# -- the widgets ----------------------------------------------------------------------------


def test_docstring_widget_shows_hostile_text_only_escaped():
    from codex_magic.frontends.docwidget import DocstringWidget

    result = write_docstrings(USER, Options(samples=len(WRITTEN), seed=1), engine=FakeEngine())
    w = DocstringWidget()
    w.show_result(result)
    assert w.phase == "done" and len(w.candidates) == 4
    assert {"docstring", "code", "score", "html"} <= set(w.candidates[0])
    assert {r["reason"] for r in w.refused} == {"it is empty", "it is 100,000 characters long"}
    page = w.as_html()
    assert "<script" not in page and "os.system(&quot;echo owned&quot;)" in page
    assert "\x00" not in w.as_text()  # control characters are shown as escapes


def test_codex_widget_explains_on_request():
    from codex_magic.frontends.widget import CodexWidget
    from codex_magic.types import Candidate, Result

    cand = Candidate(1, "def f():\n    return 1\n", "    return 1\n", Verdict(0, 0), -0.5,
                     -0.5, 1)
    result = Result((cand,), 1, 0, 0, "fake", 0.0, 1, "logprob")
    seen = []

    def explain(r):
        seen.append(r)
        return Result(tuple(c.__class__(**{**c.__dict__, "explanation": "Returns one."})
                            for c in r.candidates), 1, 0, 0, "fake", 0.0, 1, "logprob")

    w = CodexWidget()
    w.show_result(result)
    assert not w.can_explain
    w.enable_explain(explain)
    assert w.can_explain
    w._on_msg(w, {"type": "something else"}, [])
    assert seen == []
    w._on_msg(w, {"type": "explain"}, [])
    assert seen == [result] and w.explaining == ""
    assert w.candidates[0]["explanation"] == "Returns one."
    assert w.result.best.explanation == "Returns one."

    def broken(r):
        raise CodexError("the model is gone")

    w.enable_explain(broken)
    w._on_msg(w, {"type": "explain"}, [])
    assert w.explaining == "could not explain: the model is gone"
