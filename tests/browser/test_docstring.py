"""%%docstring in JupyterLab with the real default model: Insert and Replace.

One run writes 2 docstrings of at most 32 tokens (a few seconds on 2 CPU cores).
"""

from __future__ import annotations

import ast

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.timeout(300)]

USER = '''import math


def circle_area(r):
    # pi r squared
    return math.pi * r ** 2
'''
CUT = USER.index("    # pi")


def _add_cell(lab, index: int, source: str) -> None:
    lab.page.evaluate("""([index, source]) => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        nb.model.sharedModel.insertCell(index, {cell_type: 'code', source, metadata: {}});
    }""", [index, source])


def _is_the_users_function_with_a_docstring(source: str, docstring: str) -> bool:
    """The user's code byte for byte around the docstring, which reads as the card shows."""
    if not (source.startswith(USER[:CUT]) and source.endswith(USER[CUT:])):
        return False
    tree = ast.parse(source)
    return ast.get_docstring(tree.body[1]) == docstring


def test_docstring_widget_insert_then_replace(lab):
    lab.open_notebook("docstring")
    lab.run_cell(1)  # %load_ext codex_magic
    _add_cell(lab, 2, "%%docstring -n 2 --max-tokens 32 --seed 1\n" + USER)
    lab.run_cell(2, timeout=180_000)
    output = lab.cell(2).locator(".codex-docstring-widget")
    output.locator(".codex-summary").wait_for()
    assert "ranked by back-translation" in output.locator(".codex-summary").inner_text()
    first = output.locator(".codex-card").first
    docstring = first.locator("pre.codex-docstring").inner_text().rstrip("\n")
    assert docstring
    before = lab.cells()

    first.get_by_role("button", name="Insert the function with docstring 1 as a new cell below"
                      ).click()

    output.get_by_text("Docstring 1 inserted below.").wait_for()
    after = lab.cells()
    assert len(after) == len(before) + 1
    assert after[:3] == before[:3] and after[4:] == before[3:]
    inserted = after[3]["source"]
    assert after[3]["type"] == "code" and "%%docstring" not in inserted
    assert _is_the_users_function_with_a_docstring(inserted, docstring), inserted
    assert lab.active_index() == 3
    lab.cell(2).scroll_into_view_if_needed()
    lab.screenshot("docstring.png", docs_name="docstring.png")

    # Replace: the %%docstring cell itself becomes the function, without the magic line.
    first.get_by_role("button", name="Replace this cell with the function with docstring 1"
                      ).click()
    output.get_by_text("This cell now holds docstring 1.").wait_for()
    replaced = lab.cells()
    assert replaced[2] == {"type": "code", "source": inserted}
    assert len(replaced) == len(after) and replaced[3:] == after[3:]


def test_codex_widget_what_does_each_do(lab):
    """The %%codex widget's button: the kernel explains every candidate, each card shows it."""
    lab.open_notebook("explain")
    lab.run_cell(1)  # %load_ext codex_magic
    lab.run_cell(2, timeout=180_000)  # %%codex -n 2 --max-tokens 48 --seed 1
    output = lab.cell(2).locator(".codex-widget")
    output.locator(".codex-summary").wait_for()
    assert output.locator(".codex-explanation").count() == 0

    output.get_by_role("button", name="What does each do?").click()

    output.locator(".codex-explanation").first.wait_for(timeout=120_000)
    cards = output.locator(".codex-card")
    assert output.locator(".codex-explanation").count() == cards.count()
    line = output.locator(".codex-explanation").first.inner_text()
    assert line.startswith("What it does: ") and len(line) > len("What it does: ")
    assert output.get_by_role("button", name="What does each do?").count() == 0
