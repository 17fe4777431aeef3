"""The same extension in Notebook 7 (skipped where the notebook package is not installed)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

def test_notebook7_insert_event_adds_a_cell_below(notebook7):
    notebook7.open_notebook("nb7-insert")
    page = notebook7.page
    assert page.evaluate("() => document.body.dataset.codexMagicInsert") == "1"
    before = notebook7.cells()
    code = "def f():\n    return 1\n"
    assert notebook7.insert_event(code, cell=3) is True
    after = notebook7.cells()
    assert after[4] == {"type": "code", "source": code}
    assert len(after) == len(before) + 1


def test_notebook7_sidebar_opens_from_its_command(notebook7):
    notebook7.open_notebook("nb7-sidebar")
    panel = notebook7.open_sidebar()
    assert "Runs in the kernel of nb7-sidebar.ipynb" in panel.inner_text()


@pytest.mark.model
def test_notebook7_widget_insert(notebook7):
    notebook7.open_notebook("nb7-widget")
    notebook7.run_cell(1)
    notebook7.run_cell(2, timeout=180_000)
    output = notebook7.cell(2).locator(".codex-widget")
    output.locator(".codex-summary").wait_for()
    first = output.locator(".codex-card").first
    code = first.locator("pre.codex-code").inner_text().rstrip("\n")
    first.get_by_role("button", name="Insert candidate 1 as a new cell below").click()
    output.get_by_text("Candidate 1 inserted below.").wait_for()
    cells = notebook7.cells()
    assert cells[3]["type"] == "code" and cells[3]["source"].rstrip("\n") == code
    notebook7.screenshot("notebook7-widget.png")
