"""The README's facts that the code declares: they are generated, and must match."""

import re
from pathlib import Path

from codex_magic.frontends.option_forms import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_options_table_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- options:[^\n]*-->\n(.*?)<!-- end options -->", text, re.S)
    assert found, "the README lost its options markers"
    assert found.group(1) == markdown_table(), (
        "README's options table is stale: paste "
        "codex_magic.frontends.option_forms.markdown_table()")


def test_the_layout_table_names_files_that_exist():
    root = README.parent
    text = README.read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    for cell in re.findall(r"^\| (`[^|]+`) \|", layout, re.M):
        for name in re.findall(r"`([^`]+)`", cell):
            name = name.rstrip("/")
            here = [p for base in (root, root / "codex_magic") for p in base.glob(name)]
            assert here, f"README's layout names {name}, which is not in the tree"
