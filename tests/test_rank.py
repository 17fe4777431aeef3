from codex_magic.prompt import normalise
from codex_magic.rank import rank
from codex_magic.types import Sample, Verdict


def sample(lps, seed=0):
    return Sample(text="", token_logprobs=tuple(lps), finish_reason="stop", seed=seed)


def test_tests_first_then_mean_logprob_and_duplicates_merged():
    bodies = ["    return a+b\n", "    return a - b\n", "    return  a+b\n\n", "    return 0\n"]
    samples = [sample([-1.0], 1), sample([-0.1], 2), sample([-0.5], 3), sample([-0.2], 4)]
    verdicts = [Verdict(2, 2), Verdict(0, 2), Verdict(2, 2), Verdict(1, 2)]
    ranked = rank(samples, bodies, bodies, verdicts, by="tests")
    assert [c.rank for c in ranked] == [1, 2, 3]
    assert ranked[0].count == 2 and set(ranked[0].seeds) == {1, 3}
    assert ranked[0].mean_logprob == -0.5  # the likelier duplicate represents the group
    assert [c.verdict.passed for c in ranked] == [2, 1, 0]


def test_logprob_ranking_ignores_tests_and_broken_code_goes_last():
    bodies = ["    return (\n", "    return 1\n", "    return 2\n"]
    samples = [sample([-0.01]), sample([-0.9]), sample([-0.3])]
    verdicts = [Verdict(0, 0, status="syntax error"), Verdict(1, 1), Verdict(0, 1)]
    ranked = rank(samples, bodies, bodies, verdicts, by="logprob")
    assert [c.body for c in ranked] == ["    return 2\n", "    return 1\n", "    return (\n"]


def test_random_ranking_is_seeded():
    bodies = [f"    return {i}\n" for i in range(8)]
    samples = [sample([-float(i)]) for i in range(8)]
    verdicts = [Verdict(0, 0)] * 8
    a = [c.body for c in rank(samples, bodies, bodies, verdicts, by="random", seed=5)]
    b = [c.body for c in rank(samples, bodies, bodies, verdicts, by="random", seed=5)]
    c = [c.body for c in rank(samples, bodies, bodies, verdicts, by="random", seed=6)]
    assert a == b and a != c


def test_normalise_whitespace_only():
    assert normalise("  x =  1 \n\n  return x\n") == normalise("  x = 1\n  return x")
    assert normalise("  return x") != normalise("    return x")
