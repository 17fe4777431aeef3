"""codex-magic as a user runs it: a real subprocess, the real default model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROMPT = ('def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    >>> add(0, 0)\n    0\n'
          '    """\n')


def cli(*args, stdin=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "codex_magic.frontends.cli", *map(str, args)],
                          input=stdin, capture_output=True, timeout=timeout)


@pytest.fixture
def prompt(tmp_path):
    p = tmp_path / "prompt.py"
    p.write_text(PROMPT)
    return p


@pytest.mark.model
def test_solve_json(prompt, default_model):
    out = cli("solve", prompt, "-n", "3", "--max-tokens", "32", "--seed", "1", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["n_samples"] == 3 and data["n_doctests"] == 2 and data["seed"] == 1
    best = data["candidates"][0]
    assert best["rank"] == 1 and best["code"].startswith("def add(a, b):")
    for key in ("passed", "total", "mean_logprob", "sum_logprob", "count"):
        assert key in best
    assert sum(c["count"] for c in data["candidates"]) == 3


@pytest.mark.model
def test_solve_text_from_stdin(default_model):
    out = cli("solve", "-", "-n", "2", "--max-tokens", "24", "--seed", "2", "--timings",
              stdin=PROMPT.encode())
    assert out.returncode == 0, out.stderr
    assert b"#1  tests" in out.stdout and b"codex timings:" in out.stdout


def test_check_exit_codes(prompt, tmp_path):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text("def add(a, b):\n    return a + b\n")
    bad.write_text("def add(a, b):\n    return a * b\n")
    ok = cli("check", good, "--prompt", prompt, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["passed"] == 2
    ko = cli("check", bad, "--prompt", prompt)
    assert ko.returncode == 1 and b"1/2 examples passed" in ko.stdout
    hang = tmp_path / "hang.py"
    hang.write_text("def add(a, b):\n    while True: pass\n")
    to = cli("check", hang, "--prompt", prompt, "--timeout", "1", "--json")
    assert to.returncode == 1 and json.loads(to.stdout)["status"] == "timed out"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "/no/such.py"], b"not found"),
        (["solve", "{tmp}"], b"is a directory"),
        (["solve", "{latin1}"], b"not UTF-8"),
        (["solve", "{prompt}", "-n", "0"], b"--samples"),
        (["solve", "{prompt}", "-n", "x"], b"invalid int"),
        (["solve", "{prompt}", "--model", "/no/model.gguf"], b"model file not found"),
        (["solve", "{prompt}", "--model", "{tmp}"], b"directory"),
        (["solve", "{nodoc}"], b"no docstring"),
        (["check", "{prompt}", "--prompt", "{nodoctest}"], b"no >>> examples"),
        (["check", "{prompt}"], b"--prompt"),
        (["check", "{prompt}", "--prompt", "{prompt}", "--timeout", "-1"], b"--timeout"),
        (["frobnicate"], b"invalid choice"),
    ],
)
def test_bad_input_exit_2_with_one_line(args, message, tmp_path, prompt):
    latin1 = tmp_path / "latin1.py"
    latin1.write_bytes("def f():\n    '''caf\xe9'''\n".encode("latin-1"))
    nodoc = tmp_path / "nodoc.py"
    nodoc.write_text("def f():\n    return 1\n")
    nodoctest = tmp_path / "nodoctest.py"
    nodoctest.write_text('def f():\n    """No examples."""\n')
    paths = {"tmp": tmp_path, "latin1": latin1, "prompt": prompt, "nodoc": nodoc,
             "nodoctest": nodoctest}
    out = cli(*[a.format(**paths) for a in args])
    assert out.returncode == 2
    assert message in out.stderr
    assert b"Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith((b"codex-magic", b"usage:"))


def test_models_lists_the_registry():
    out = cli("models", "--json")
    assert out.returncode == 0
    names = [m["name"] for m in json.loads(out.stdout)]
    assert "gemma-3-270m" in names and "qwen2.5-coder-1.5b" in names


def test_registry_entries_are_complete():
    # The full check is against models/registry.schema.json (tests/test_models.py).
    data = json.loads((Path(__file__).parents[2] / "models" / "registry.json").read_text())
    assert data["default"] in [m["name"] for m in data["models"]]
    for m in data["models"]:
        assert {"name", "files", "licence", "code_model", "verified"} <= set(m)
        assert all(f["file"].endswith(".gguf") for f in m["files"])
