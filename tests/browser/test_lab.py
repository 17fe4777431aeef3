"""The labextension in a real JupyterLab and Chromium, without the model."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def test_extension_activates_and_a_plain_cell_runs(lab):
    lab.open_notebook("plain")
    assert lab.page.evaluate("() => document.body.dataset.codexMagicInsert") == "1"
    cells = lab.cells()
    assert cells[1]["source"] == "%load_ext codex_magic"
    lab.run_cell(1)
    # %load_ext must be instant (no model load) and print nothing.
    assert lab.cell(1).locator(".jp-OutputArea-output").count() == 0


def test_insert_event_adds_a_code_cell_below_the_cell_it_came_from(lab):
    lab.open_notebook("insert")
    before = lab.cells()
    code = 'def is_even(n):\n    """Even?"""\n    return n % 2 == 0\n'
    # From inside cell 3 (the is_even cell), as a widget's root would be.
    assert lab.insert_event(code, cell=3) is True
    after = lab.cells()
    assert len(after) == len(before) + 1
    assert after[4] == {"type": "code", "source": code}
    assert after[:4] == before[:4]
    assert lab.active_index() == 4
    # Nothing was run.
    assert lab.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets[4].model.executionCount"
    ) is None


def test_insert_event_outside_a_notebook_is_left_unhandled(lab):
    lab.open_notebook("outside")
    before = lab.cells()
    assert lab.insert_event("x = 1\n", cell=None) is False
    assert lab.cells() == before


def test_sidebar_opens_from_the_command_palette_and_prefills_from_the_active_cell(lab):
    lab.open_notebook("palette")
    lab.select_cell(3)
    page = lab.page
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Open the Codex Sidebar")
    page.keyboard.press("Enter")
    panel = page.locator("#codex-magic-sidebar")
    panel.wait_for(state="visible")
    assert "Runs in the kernel of palette.ipynb" in panel.inner_text()
    prompt = panel.get_by_label("Signature and docstring")
    assert prompt.input_value().startswith("def is_even(n):")
    # The %%codex line is not part of the prompt.
    lab.select_cell(2)
    panel.get_by_role("button", name="Fill the prompt from the active cell").click()
    assert prompt.input_value().startswith("def add(a, b):")
    generate = panel.get_by_role("button",
                                 name="Generate candidates in the active notebook's kernel")
    cancel = panel.get_by_role("button", name="Cancel: interrupt the kernel")
    assert generate.is_enabled() and cancel.is_disabled()
    # Keyboard: Tab from the seed reaches "Use earlier cells" (Space toggles it), then Generate.
    panel.get_by_label("Random seed (empty: random)").focus()
    page.keyboard.press("Tab")
    use = panel.get_by_label("Use earlier cells")
    assert page.evaluate("() => document.activeElement.type") == "checkbox"
    page.keyboard.press("Space")
    assert use.is_checked()
    page.keyboard.press("Space")
    assert not use.is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        "Generate candidates in the active notebook's kernel")
    lab.screenshot("sidebar-empty-light.png")
    # The same panel in the dark theme (colours come from --jp-* variables).
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme',"
                  " {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    lab.screenshot("sidebar-empty-dark.png")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme',"
                  " {theme: 'JupyterLab Light'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


def test_sidebar_shows_a_codex_error_from_the_kernel(lab):
    """A CodexError comes back as the error bundle; the prompt survives the JSON literal."""
    lab.open_notebook("error")
    panel = lab.open_sidebar()
    tricky = ('def f(s):\n    """Quotes \' " \\\\ \\n, unicode é ✓ 🐍, U+2028 \u2028 end.\n\n'
              '    >>> f("a")\n    \'a\'\n    """')
    panel.get_by_label("Signature and docstring").fill(tricky)
    panel.get_by_label("Number of samples", exact=True).fill("0")
    panel.get_by_role("button", name="Generate candidates in the active notebook's kernel").click()
    panel.get_by_text("--samples must be an integer from 1 to 256, got 0").wait_for(
        timeout=60_000)
    assert panel.locator(".jp-CodexPanel-message.jp-mod-warning").is_visible()
