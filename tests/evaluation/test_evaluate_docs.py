"""docs/evaluation.md and its results regenerate from the committed samples, exactly."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from codex_magic.evaluation import docgen, study
from codex_magic.evaluation.judge import canonical_failures, load_humaneval
from codex_magic.evaluation.metrics import top1_score

# The prompts whose >>> examples HumanEval's own solution fails under strict doctest: wrong
# expected values (47, 116), quote style (65, 113), `>>> f(x) == y` with no output line.
BROKEN_EXAMPLES = {"HumanEval/47", "HumanEval/65", "HumanEval/108", "HumanEval/113",
                   "HumanEval/116", "HumanEval/128", "HumanEval/145", "HumanEval/156",
                   "HumanEval/162"}


@pytest.fixture(scope="module")
def canonical() -> dict[str, str]:
    return canonical_failures(load_humaneval())


@pytest.fixture(scope="module")
def results(canonical: Mapping[str, str]) -> dict[str, Any]:
    return study.build(docgen.RESULTS, canonical=canonical)


def test_canonical_check_flags_exactly_the_prompts_with_wrong_examples(
        canonical: Mapping[str, str]) -> None:
    assert set(canonical) == BROKEN_EXAMPLES
    assert "expected '15.0', got '8.0'" in canonical["HumanEval/47"]


def test_results_json_regenerates_from_the_committed_samples(results: dict[str, Any]) -> None:
    committed = (docgen.RESULTS / "results.json").read_text(encoding="utf-8")
    assert docgen.results_text(results) == committed, \
        "stale results.json: run python -m codex_magic.evaluation.docgen"


def test_every_generated_block_of_the_doc_regenerates(results: dict[str, Any]) -> None:
    doc = docgen.DOC.read_text(encoding="utf-8")
    names = re.findall(r"<!-- generated: ([\w-]+) -->", doc)
    assert len(names) == len(set(names)) and set(names) <= set(docgen.BLOCKS)
    assert {"summary", "main", "canonical", "stop", "sweep", "curve"} <= set(names)
    assert docgen.render(doc, results) == doc, \
        "docs/evaluation.md differs from its results: run python -m codex_magic.evaluation.docgen"


def test_rates_in_the_doc_carry_their_interval() -> None:
    """A rate in a generated table comes with its 95% CI: "2.8% (1.2–6.1)"."""
    doc = docgen.DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- generated: [\w-]+ -->\n(.*?)<!-- end -->", doc, re.S)
    rates = 0
    for line in "\n".join(blocks).splitlines():
        if line.startswith("|"):
            for cell in line.split("|"):
                for m in re.finditer(r"\d+\.\d%", cell):
                    assert re.match(r" \(\d+\.\d–\d+\.\d\)", cell[m.end():]), (line, cell)
                    rates += 1
    assert rates > 50


def test_pick_key_agrees_with_the_rank_the_magic_gave(results: dict[str, Any]) -> None:
    """The %%codex pick recomputed from per-sample fields (used for subsets of the pool)
    scores exactly as the rank stored by the magic's own ranking code."""
    _, runs = study.load_folder(docgen.RESULTS / "main")
    checked = 0
    for label, per_task in runs.items():
        if label == "greedy":
            continue
        for samples in per_task.values():
            first = [s for s in samples if s.magic_rank == 1]
            assert first, samples[0].task_id
            stored = sum(s.passed_hidden for s in first) / len(first)
            assert top1_score(samples, "examples") == stored, (label, samples[0].task_id)
            checked += 1
    assert checked == 2 * results["main"]["n_problems"]


def test_committed_samples_are_what_the_settings_say(results: dict[str, Any]) -> None:
    settings, runs = study.load_folder(docgen.RESULTS / "main")
    assert settings["seeding"] == "per problem and temperature" and settings["repetition_stop"]
    for label, per_task in runs.items():
        want = 1 if label == "greedy" else settings["n"]
        assert all(len(ss) == want for ss in per_task.values()), label
        seeds = {s.seed for ss in per_task.values() for s in ss}
        assert len(seeds) == sum(len(ss) for ss in per_task.values()) or label == "greedy"
    if "repetition_stop" in results:
        assert results["repetition_stop"]["settings"]["repetition_stop"] is False
    json.dumps(results, allow_nan=False)


def test_registry_default_temperature_is_the_one_the_sweep_chose(results: dict[str, Any]) -> None:
    """The default model's temperature for many samples comes from the measured sweep."""
    if "sweep" not in results:
        pytest.skip("no temperature sweep in the committed results")
    registry = json.loads((docgen.ROOT / "models" / "registry.json").read_text(encoding="utf-8"))
    entry = next(m for m in registry["models"] if m["name"] == registry["default"])
    assert entry["temperature"]["many"] == results["sweep"]["best"]
    assert "docs/evaluation.md" in entry["temperature_source"]
