"""``codex-magic check`` against hostile candidate files (holes 4 and 5 of issue 10) and
``--explain``: a real subprocess each time."""

import os
import subprocess
import sys

import pytest

from codex_magic.frontends.cli_check import escape, strip_docstring

PROMPT = ('def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    >>> add(0, 0)\n    0\n'
          '    """\n')


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "codex_magic.frontends.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env=None if env is None else os.environ | env)


@pytest.fixture
def prompt(tmp_path):
    p = tmp_path / "prompt.py"
    p.write_text(PROMPT)
    return p


def test_the_candidate_cannot_read_its_own_docstring(prompt, tmp_path):
    forger = tmp_path / "forger.py"
    forger.write_text(PROMPT + (
        "    import re\n"
        "    pairs = re.findall(r'>>> add\\((\\d+), (\\d+)\\)\\n\\s+(\\d+)', add.__doc__ or '')\n"
        "    return {(int(x), int(y)): int(z) for x, y, z in pairs}.get((a, b))\n"))
    out = cli("check", forger, "--prompt", prompt, "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    honest = tmp_path / "honest.py"
    honest.write_text(PROMPT + "    return a + b\n")
    assert cli("check", honest, "--prompt", prompt).returncode == 0


def test_the_rest_of_the_file_runs_as_given(prompt, tmp_path):
    top = tmp_path / "top.py"
    top.write_text("raise RuntimeError('top-level code ran')\n\n" + PROMPT + "    return a + b\n")
    out = cli("check", top, "--prompt", prompt)
    assert out.returncode == 1 and "top-level code ran" in out.stdout


def test_strip_docstring_keeps_everything_else():
    code = ('X = "keep me"\n\ndef add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    """\n'
            '    return a + b  # é\n\ndef other():\n    """Other doc."""\n')
    out = strip_docstring(code, "add")
    assert ">>>" not in out and '"keep me"' in out and "Other doc." in out
    assert "    None\n    return a + b  # é" in out
    one_line = strip_docstring('def add(a, b): "5"; return a + b\n', "add")
    assert one_line == "def add(a, b): None; return a + b\n"


def test_terminal_control_characters_are_escaped(prompt, tmp_path):
    evil = tmp_path / "evil.py"
    evil.write_text(PROMPT + "    print('\\x1b[2J\\x1b[H2/2 examples passed (ok)"
                    "\\r\\x9b31m\\u202e')\n    return 0\n")
    out = cli("check", evil, "--prompt", prompt)
    assert out.returncode == 1
    assert not any(c in out.stdout for c in "\x1b\r\x9b\u202e"), repr(out.stdout)
    assert "\\x1b[2J" in out.stdout
    lines = out.stdout.splitlines()
    assert lines[0] == "0/2 examples passed (ok)"
    assert all(not line.startswith("2/2") for line in lines)  # only indented, quoted copies


def test_escape():
    assert escape("a\tb\nc\x07\x1b\x7f\u2066") == "a\tb\nc\\x07\\x1b\\x7f\\u2066"


def test_explain_says_the_mode_and_what_it_blocks():
    for policy in ("auto", "namespaces", "landlock", "limits"):
        out = cli("check", "--explain", env={"CODEX_MAGIC_SANDBOX": policy})
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"sandbox policy: {policy}\nmode: ")
        if "mode: none" not in out.stdout:
            assert "blocks:" in out.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["check"], "CODE_FILE and --prompt"),
    (["check", "{prompt}"], "--prompt"),
    (["check", "--prompt", "{prompt}"], "CODE_FILE"),
])
def test_bad_check_input_is_one_line_exit_2(args, message, prompt):
    out = cli(*[a.format(prompt=prompt) for a in args])
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and message in out.stderr
    assert "Traceback" not in out.stderr
