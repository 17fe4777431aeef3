"""End to end with the real default model: %%codex widget → Insert, and the Codex sidebar.

Each run samples 2 candidates of at most 48 tokens (a few seconds on 2 CPU cores).
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.timeout(300)]

GENERATE = "Generate candidates in the active notebook's kernel"


def test_widget_insert_adds_the_candidate_below_the_codex_cell(lab):
    lab.open_notebook("widget")
    lab.run_cell(1)  # %load_ext codex_magic
    lab.run_cell(2, timeout=180_000)  # %%codex -n 2 --max-tokens 48 --seed 1
    output = lab.cell(2).locator(".codex-widget")
    output.locator(".codex-summary").wait_for()
    first = output.locator(".codex-card").first
    code = first.locator("pre.codex-code").inner_text().rstrip("\n")
    assert code.startswith("def add(a, b):\n")
    assert '>>> add(2, 3)' in code
    # The candidate is the whole function: signature, docstring and a generated body.
    body = code.split('"""')[-1]
    assert body.strip(), code
    before = lab.cells()

    first.get_by_role("button", name="Insert candidate 1 as a new cell below").click()

    output.get_by_text("Candidate 1 inserted below.").wait_for()
    after = lab.cells()
    assert len(after) == len(before) + 1
    assert after[3]["type"] == "code"
    assert after[3]["source"].rstrip("\n") == code
    assert after[:3] == before[:3] and after[4:] == before[3:]
    assert lab.active_index() == 3
    lab.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    lab.cell(3).scroll_into_view_if_needed()
    lab.screenshot("widget.png", docs_name="widget.png")


def _open_sidebar(lab):
    page = lab.page
    panel = page.locator("#codex-magic-sidebar")
    if not panel.is_visible():  # the workspace may have restored it open; a click would close it
        page.locator('.jp-SideBar .lm-TabBar-tab[data-id="codex-magic-sidebar"]').click()
    panel.wait_for(state="visible")
    return panel


def test_sidebar_generates_in_the_kernel_and_inserts_below_the_active_cell(lab):
    page = lab.page
    lab.open_notebook("sidebar")
    lab.select_cell(3)  # def is_even(n): with two doctests
    panel = _open_sidebar(lab)
    prompt = panel.get_by_label("Signature and docstring")
    assert prompt.input_value().startswith("def is_even(n):")
    panel.get_by_label("Samples", exact=True).fill("2")
    panel.get_by_label("Max tokens", exact=True).fill("48")
    panel.get_by_label("Seed", exact=True).fill("1")
    # The model field offers the registry's names (GET /codex-magic/models).
    page.wait_for_function(
        "() => [...document.querySelectorAll('#codex-magic-sidebar datalist option')]"
        ".some(o => o.value === 'gemma-3-270m')")

    panel.get_by_role("button", name=GENERATE).click()

    cancel = panel.get_by_role("button", name="Cancel: interrupt the kernel")
    assert cancel.is_enabled()
    panel.locator(".jp-CodexPanel-candidate").first.wait_for(timeout=180_000)
    assert cancel.is_disabled()
    summary = panel.locator(".jp-CodexPanel-summary").inner_text()
    assert "/2 samples pass all 2 doctests" in summary, summary
    first = panel.locator(".jp-CodexPanel-candidate").first
    badge = first.locator(".jp-CodexPanel-badge")
    assert badge.inner_text().split()[0].endswith("/2")  # e.g. "2/2 passed" or "0/2 passed"
    meta = first.locator(".jp-CodexPanel-meta").inner_text()
    assert "mean log-prob" in meta and "sample" in meta
    code = first.locator(".jp-CodexPanel-code").inner_text()
    assert code.startswith("def is_even(n):\n")
    before = lab.cells()

    first.get_by_role("button", name="Insert candidate 1 below the active cell").click()

    after = lab.cells()
    assert len(after) == len(before) + 1
    assert after[4] == {"type": "code", "source": code}
    assert after[:4] == before[:4]
    assert lab.active_index() == 4
    assert "Inserted candidate 1 below cell 4." in panel.inner_text()
    lab.screenshot("sidebar.png", docs_name="sidebar.png")

    # Replace: the active cell (a markdown cell here) becomes a code cell holding the code.
    lab.select_cell(0)
    first.get_by_role("button", name="Replace the active cell with candidate 1").click()
    replaced = lab.cells()
    assert replaced[0] == {"type": "code", "source": code}
    assert len(replaced) == len(after)


# Its doctest sleeps, so the run spends seconds in the "testing" phase: a window to cancel in
# that does not depend on how long the model's answers are.
SLOW = '''import time


def double(n):
    """Double n, slowly.

    >>> time.sleep(30) or double(2)
    4
    """'''


def test_sidebar_cancel_interrupts_the_kernel(lab):
    lab.open_notebook("cancel")
    panel = _open_sidebar(lab)
    prompt = panel.get_by_label("Signature and docstring")
    prompt.fill(SLOW)
    panel.get_by_label("Samples", exact=True).fill("2")
    panel.get_by_label("Max tokens", exact=True).fill("48")
    # Ctrl+Enter in the prompt generates, like the Generate button.
    prompt.press("Control+Enter")
    panel.get_by_text("Running doctests").wait_for(timeout=120_000)
    panel.get_by_role("button", name="Cancel: interrupt the kernel").click()
    panel.get_by_text("Cancelled.").wait_for(timeout=15_000)
    assert panel.get_by_role("button", name=GENERATE).is_enabled()
    assert panel.locator(".jp-CodexPanel-candidate").count() == 0
    lab.wait_kernel_idle(timeout=30_000)


# Passes only where the kernel's earlier cells reach the sandbox: demo cell 3 defines is_even.
USES_EARLIER_CELL = '''def parity_doc():
    """The first word of is_even's docstring.

    >>> is_even.__doc__.split()[0]
    'Return'
    """'''


def test_sidebar_use_earlier_cells_puts_the_kernels_definitions_before_the_prompt(lab):
    lab.open_notebook("context")
    lab.run_cell(3)  # def is_even(n): its docstring only
    panel = _open_sidebar(lab)
    panel.get_by_label("Signature and docstring").fill(USES_EARLIER_CELL)
    panel.get_by_label("Samples", exact=True).fill("2")
    panel.get_by_label("Max tokens", exact=True).fill("32")
    panel.get_by_label("Seed", exact=True).fill("2")
    summary = panel.locator(".jp-CodexPanel-summary")

    panel.get_by_role("button", name=GENERATE).click()
    panel.locator(".jp-CodexPanel-candidate").first.wait_for(timeout=180_000)
    assert "0/2 samples pass the doctest" in summary.inner_text(), summary.inner_text()

    use = panel.get_by_label("Use earlier cells")
    assert not use.is_checked()
    use.check()
    panel.get_by_role("button", name=GENERATE).click()
    # The first run's summary says 0/2, so this waits for the second run's result.
    lab.page.wait_for_function(
        "() => /[12]\\/2 samples pass the doctest/.test(document.querySelector("
        "'#codex-magic-sidebar .jp-CodexPanel-summary').innerText)", timeout=180_000)
    badge = panel.locator(".jp-CodexPanel-candidate").first.locator(".jp-CodexPanel-badge")
    assert badge.inner_text().startswith("1/1")


def test_sidebar_generates_with_an_advanced_option(lab):
    """Top-k 1 (under "More options") samples greedily: both samples give the same code."""
    lab.open_notebook("top-k")
    lab.select_cell(3)
    panel = _open_sidebar(lab)
    panel.get_by_label("Samples", exact=True).fill("2")
    panel.get_by_label("Max tokens", exact=True).fill("32")
    panel.get_by_text("More options").click()
    panel.get_by_label("Top-k", exact=True).fill("1")

    panel.get_by_role("button", name=GENERATE).click()

    panel.locator(".jp-CodexPanel-candidate").first.wait_for(timeout=180_000)
    summary = panel.locator(".jp-CodexPanel-summary").inner_text()
    assert " · 1 distinct · " in summary, summary
    meta = panel.locator(".jp-CodexPanel-candidate").first.locator(".jp-CodexPanel-meta")
    assert meta.inner_text().endswith("· 2 samples")
