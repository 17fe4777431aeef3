"""The notebook side of binder/simulate.sh: run a demo notebook and check what it shows.

``run NOTEBOOK OUT_DIR`` (inside the simulated pod, with the Binder environment's Python)
executes the notebook headless with nbclient, as a newcomer's Run All would, saves the
executed copy (widget state included) and a JSON report, and checks it: no error output,
every ``%%codex`` / ``%%docstring`` widget in its final state with candidates, an image
wherever a cell draws a plot, and the time limit.

``browser URL TOKEN OUT_DIR NOTEBOOK [EXECUTED]`` (outside the pod, where Playwright and
Chromium are) opens the notebook in the pod's JupyterLab at ``lab/tree/NOTEBOOK``, the
path the README's Binder badge opens, runs all its cells, waits for the widgets, clicks
Insert on the first candidate and checks the new cell; then opens EXECUTED (a notebook run
by ``run``, outputs saved) and checks its plots render. Screenshots go to OUT_DIR.

Exit status 0 when every check holds, 1 otherwise; the last line says why.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MAGIC = re.compile(r"^\s*%%(codex|docstring)\b|run_cell_magic\(\s*[\"'](codex|docstring)[\"']",
                   re.M)
PLOT = re.compile(r"plt\.show\(\)|display\(Image\(")


def run(notebook: Path, out_dir: Path, limit_s: float) -> int:
    import nbclient
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=limit_s, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(notebook.parent)}})
    started = time.perf_counter()
    try:
        client.execute()
        crashed = ""
    except Exception as e:  # a dead kernel (out of memory) or a cell past the limit
        crashed = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / notebook.name)

    problems = [f"execution stopped: {crashed}"] if crashed else []
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    widgets = expected = images = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        for out in outputs:
            if out.output_type == "error":
                problems.append(f"cell {i}: {out.ename}: {out.evalue}"[:300])
        views = [out.data[WIDGET_VIEW]["model_id"] for out in outputs
                 if WIDGET_VIEW in out.get("data", {})]
        ours = [state[m]["state"] for m in views
                if m in state and "phase" in state[m].get("state", {})]
        if MAGIC.search(cell.source) or ours:
            expected += 1
            if not ours:
                problems.append(f"cell {i}: no codex_magic widget state saved")
            for s in ours:
                if s["phase"] != "done" or s.get("error") or not s.get("candidates"):
                    problems.append(f"cell {i}: widget ended in phase {s['phase']!r} with "
                                    f"{len(s.get('candidates', []))} candidates "
                                    f"{s.get('error', '')!r}"[:300])
                else:
                    widgets += 1
        if PLOT.search(cell.source):
            drawn = sum("image/png" in out.get("data", {}) for out in outputs)
            images += drawn
            if not drawn:
                problems.append(f"cell {i}: draws a plot but shows no image")
    if seconds > limit_s:
        problems.append(f"took {seconds:.0f} s, more than {limit_s:.0f} s")
    report = {"notebook": notebook.name, "seconds": round(seconds, 1), "widgets_done": widgets,
              "widget_cells": expected, "images": images, "problems": problems}
    (out_dir / (notebook.stem + ".json")).write_text(json.dumps(report, indent=1))
    verdict = "ok" if not problems else "FAILED: " + "; ".join(problems)
    print(f"{notebook.name}: {seconds:.0f} s, {widgets} widgets done, {images} images: {verdict}")
    return 0 if not problems else 1


def browser(url: str, token: str, out_dir: Path, notebook: str, executed: str | None) -> int:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CODEX_MAGIC_CHROMIUM", "/usr/bin/chromium")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"]
    problems: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=args)
        try:
            page = b.new_page(viewport={"width": 1280, "height": 1600})
            problems += _run_all_and_insert(page, url, token, notebook, out_dir)
            if executed:
                problems += _saved_plots(page, url, token, executed, out_dir)
        finally:
            b.close()
    verdict = "ok" if not problems else "FAILED: " + "; ".join(problems)
    print(f"JupyterLab at lab/tree/{notebook}: {verdict}")
    return 0 if not problems else 1


def _open(page: Any, url: str, token: str, notebook: str) -> None:
    page.goto(f"{url}lab/tree/{notebook}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=120_000)
    _wait_idle(page)


def _wait_idle(page: Any, timeout: float = 120_000) -> None:
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
        "?.status === 'idle'", timeout=timeout)


def _cells(page: Any) -> list[str]:
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells"
        ".map(c => c.getSource())")


def _run_all_and_insert(page: Any, url: str, token: str, notebook: str,
                        out_dir: Path) -> list[str]:
    _open(page, url, token, notebook)
    magics = sum(1 for source in _cells(page) if MAGIC.search(source))
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        f"() => document.querySelectorAll('.codex-widget .codex-summary').length >= {magics}",
        timeout=240_000)
    page.wait_for_timeout(1000)
    _wait_idle(page, timeout=240_000)
    problems = []
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    for text in errors.all_inner_texts():
        problems.append(f"error output: {text.strip().splitlines()[-1] if text.strip() else ''}")
    first = page.locator(".codex-widget").first.locator(".codex-card").first
    code = first.locator("pre.codex-code").inner_text().rstrip("\n")
    before = _cells(page)
    first.get_by_role("button", name="Insert candidate 1 as a new cell below").click()
    page.locator(".codex-widget").first.get_by_text("Candidate 1 inserted below.").wait_for()
    after = _cells(page)
    if len(after) != len(before) + 1 or code not in [c.rstrip("\n") for c in after]:
        problems.append("Insert did not add the candidate as a new cell")
    page.screenshot(path=str(out_dir / f"lab-{Path(notebook).stem}.png"), full_page=True)
    return problems


def _saved_plots(page: Any, url: str, token: str, notebook: str, out_dir: Path) -> list[str]:
    _open(page, url, token, notebook)
    images = page.locator(".jp-RenderedImage img")
    images.first.wait_for(timeout=60_000)
    images.first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(out_dir / f"lab-saved-{Path(notebook).stem}.png"))
    drawn = sum(1 for img in images.all() if img.evaluate("i => i.naturalWidth > 0"))
    problems = [] if drawn >= 2 else [f"{notebook}: {drawn} plots rendered, expected at least 2"]
    if page.get_by_text("get notified about official Jupyter news").count():
        problems.append("JupyterLab asks newcomers about news (postBuild's overrides.json)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "run":
        return run(Path(argv[1]).resolve(), Path(argv[2]),
                   float(os.environ.get("BINDER_NOTEBOOK_LIMIT_S", "120")))
    if len(argv) >= 5 and argv[0] == "browser":
        return browser(argv[1], argv[2], Path(argv[3]), argv[4],
                       argv[5] if len(argv) > 5 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
