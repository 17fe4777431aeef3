"""The labextension in a real JupyterLab and Chromium, without the model."""

from __future__ import annotations

from typing import Any

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
    # Keyboard: Tab from the model reaches "Use earlier cells" (Space toggles it), then the
    # "More options" disclosure (Enter opens it), then Generate.
    panel.locator(".jp-CodexPanel-fieldset:not([disabled])").wait_for()
    panel.get_by_label("Model", exact=True).focus()
    page.keyboard.press("Tab")
    use = panel.get_by_label("Use earlier cells")
    assert page.evaluate("() => document.activeElement.type") == "checkbox"
    page.keyboard.press("Space")
    assert use.is_checked()
    page.keyboard.press("Space")
    assert not use.is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "More options"
    page.keyboard.press("Enter")
    top_p = panel.get_by_label("Top-p", exact=True)
    top_p.wait_for(state="visible")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "top_p"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    top_p.wait_for(state="hidden")
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
    panel.get_by_label("Samples", exact=True).fill("0")
    panel.get_by_role("button", name="Generate candidates in the active notebook's kernel").click()
    panel.get_by_text("--samples must be an integer from 1 to 256, got 0").wait_for(
        timeout=60_000)
    assert panel.locator(".jp-CodexPanel-message.jp-mod-warning").is_visible()


def _schema_requests(page: Any) -> list[int]:
    """A list that grows by one each time the page asks a kernel for the options schema."""
    sent: list[int] = []

    def on_websocket(ws: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            data = payload.encode() if isinstance(payload, str) else payload
            if b"_cms.schema()" in data:
                sent.append(1)
        ws.on("framesent", on_frame)

    page.on("websocket", on_websocket)
    return sent


def _wait_until(page: Any, condition: Any, timeout_ms: int = 5_000) -> None:
    """Let Playwright deliver events (frames) until ``condition()`` holds."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)


def test_sidebar_form_shows_the_kernels_options_and_reads_them_again_after_a_restart(lab):
    from codex_magic.frontends.option_forms import schema

    requests = _schema_requests(lab.page)
    lab.open_notebook("schema")
    panel = lab.open_sidebar()
    panel.locator(".jp-CodexPanel-fieldset:not([disabled])").wait_for()
    _wait_until(lab.page, lambda: len(requests) >= 1)
    assert len(requests) == 1
    panel.get_by_text("More options").click()
    for option in schema():  # each field shows the default the kernel sent
        field = panel.get_by_label(option["label"], exact=True)
        if option["type"] == "bool":
            assert field.is_checked() is option["default"], option["name"]
        elif option["default"] is None:
            assert field.input_value() == "", option["name"]
            assert field.get_attribute("placeholder") == option["placeholder"], option["name"]
        elif option["type"] in ("int", "float"):
            assert float(field.input_value()) == option["default"], option["name"]
        else:
            assert field.input_value() == option["default"], option["name"]
    assert panel.get_by_label("Samples", exact=True).input_value() == "10"

    # An advanced option reaches the kernel, which checks it.
    panel.get_by_label("Signature and docstring").fill('def f():\n    """F."""')
    panel.get_by_label("Samples", exact=True).fill("3")
    panel.get_by_label("Top-p", exact=True).fill("0")
    generate = panel.get_by_role("button",
                                 name="Generate candidates in the active notebook's kernel")
    generate.click()
    panel.get_by_text("--top-p must be in (0, 1], got 0").wait_for(timeout=60_000)

    # A restart may bring another codex_magic: the form asks again and keeps what was typed.
    lab.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session"
                      ".kernel.restart()")
    lab.wait_kernel_idle()
    panel.locator(".jp-CodexPanel-fieldset:not([disabled])").wait_for()
    _wait_until(lab.page, lambda: len(requests) >= 2)
    assert len(requests) == 2
    assert panel.get_by_label("Samples", exact=True).input_value() == "3"
