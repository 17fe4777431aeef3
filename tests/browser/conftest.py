"""A real JupyterLab server and Debian's Chromium, driven by Playwright.

The server runs as a subprocess on 127.0.0.1 with a random free port and a
token, in a temporary root folder (holding a copy of ``demo.ipynb``) with its
own config and runtime folders. Both the server (its whole process group,
kernels included) and the browser are always stopped, whatever the tests do.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CODEX_MAGIC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SERVER_START_TIMEOUT = 60.0


@dataclass
class LabServer:
    url: str  # base URL, ending in "/"
    token: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes]

    def lab_url(self, path: str = "lab") -> str:
        return f"{self.url}{path}?token={self.token}"

    def get(self, path: str, *, token: str | None = None) -> tuple[int, bytes]:
        """GET ``path`` (relative to the base URL); with ``token`` as an Authorization header."""
        request = urllib.request.Request(self.url + path)
        if token is not None:
            request.add_header("Authorization", f"token {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_extensions_config() -> dict[str, bool]:
    """Enable the codex_magic server extension whether or not the package's own hook is in."""
    import codex_magic

    if hasattr(codex_magic, "_jupyter_server_extension_points"):
        return {"codex_magic": True}
    # The shipped config enables "codex_magic"; until its __init__ exposes the
    # extension points, load the module that holds them directly.
    return {"codex_magic": False, "codex_magic.frontends.server_extension": True}


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (kernels included), then SIGKILL what is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    # Kernels may outlive the server process itself.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _start_server(base: Path, app: str) -> LabServer:
    """Start ``python -m <app>`` (jupyterlab, or notebook for Notebook 7) and wait for it."""
    root, config, runtime = base / "root", base / "config", base / "runtime"
    for d in (root, config, runtime, config / "labconfig"):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "demo.ipynb", root / "demo.ipynb")
    # Quieter pages: no news prompt, no update checks.
    (config / "labconfig" / "page_config.json").write_text(json.dumps({
        "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}
    }))
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": _server_extensions_config()}
    }))
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(runtime),
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    app_class = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    cmd = [
        sys.executable, "-m", app,
        "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.password=",
        # Lets tests read notebook models (cell sources) through window.jupyterapp.
        f"--{app_class}.expose_app_in_browser=True",
        "--ServerApp.shutdown_no_activity_timeout=900",
        "--MappingKernelManager.cull_idle_timeout=0",
    ]
    if app == "jupyterlab":
        cmd += ["--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = base / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = LabServer(f"http://127.0.0.1:{port}/", token, root, log, process)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode}:\n"
                                   + server.log_tail())
            try:
                status, _ = server.get("api/status", token=token)
                if status == 200:
                    return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start in time:\n" + server.log_tail())
            time.sleep(0.25)
    except BaseException:
        _stop(process)
        raise


def _serve(base: Path, app: str) -> Iterator[LabServer]:
    server = _start_server(base, app)
    try:
        yield server
    finally:
        _stop(server.process)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(server.log, ARTIFACTS / f"{app}-server.log")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server."""
    yield from _serve(tmp_path_factory.mktemp("jupyterlab"), "jupyterlab")


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A Notebook 7 server; skipped where the notebook package is not installed."""
    pytest.importorskip("notebook", minversion="7", reason="Notebook 7 is not installed")
    yield from _serve(tmp_path_factory.mktemp("notebook7"), "notebook")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        if os.environ.get("CODEX_MAGIC_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        yield pg
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.name
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            # The page may be gone; the console log still helps.
            with contextlib.suppress(Exception):
                pg.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"))
        (ARTIFACTS / f"{name}-console.log").write_text("\n".join(console))
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


# -- driving JupyterLab ----------------------------------------------------------------

# JavaScript run in the page; `window.jupyterapp` is there because the server runs with
# LabApp.expose_app_in_browser.
_JS_NOTEBOOK = "window.jupyterapp.shell.currentWidget"
_JS_KERNEL_IDLE = f"""() => {{
    const w = {_JS_NOTEBOOK};
    const k = w && w.sessionContext && w.sessionContext.session
        && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle' && !w.sessionContext.isRestarting;
}}"""


class Lab:
    """A JupyterLab page and the notebook open in it."""

    def __init__(self, page: Any, server: LabServer, ui: str = "lab") -> None:
        self.page = page
        self.server = server
        self.ui = ui  # "lab" (JupyterLab) or "notebook" (Notebook 7)

    def open_notebook(self, name: str) -> str:
        """Open a fresh copy of demo.ipynb as ``name``.ipynb and wait for its kernel."""
        path = f"{name}.ipynb"
        shutil.copy(HERE / "demo.ipynb", self.server.root / path)
        if self.ui == "lab":
            # A workspace of its own, so no layout (open notebooks, panels) leaks between tests.
            self.page.goto(self.server.lab_url(f"lab/workspaces/{name}/tree/{path}"))
        else:
            self.page.goto(self.server.lab_url(f"notebooks/{path}"))
        self.page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell",
                                    timeout=60_000)
        self.page.wait_for_function(
            f"(p) => {{ const w = {_JS_NOTEBOOK}; return !!w && w.context?.path === p; }}",
            arg=path, timeout=60_000,
        )
        self.wait_kernel_idle(timeout=60_000)
        return path

    def insert_event(self, code: str, cell: int | None) -> bool:
        """Dispatch ``codex-magic:insert`` as the %%codex widget does, from an element
        inside cell ``cell``'s output area (None: from the top panel, outside any
        notebook); whether the extension handled it."""
        return bool(self.page.evaluate(f"""([index, code]) => {{
            let target = document.querySelector('#jp-top-panel');
            if (index !== null) {{
                target = document.createElement('div');
                {_JS_NOTEBOOK}.content.widgets[index].node
                    .querySelector('.jp-Cell-outputWrapper').appendChild(target);
            }}
            const detail = {{code, handled: false}};
            target.dispatchEvent(new CustomEvent('codex-magic:insert',
                {{bubbles: true, composed: true, detail}}));
            return detail.handled;
        }}""", [cell, code]))

    def open_sidebar(self) -> Any:
        """Open the Codex sidebar by its command; its locator, once visible."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('codex-magic:open-sidebar')")
        panel = self.page.locator("#codex-magic-sidebar")
        panel.wait_for(state="visible")
        return panel

    def wait_kernel_idle(self, timeout: float = 60_000) -> None:
        self.page.wait_for_function(_JS_KERNEL_IDLE, timeout=timeout)

    def cells(self) -> list[dict[str, Any]]:
        """Each cell's type and source, read from the notebook model."""
        return self.page.evaluate(f"""() => {_JS_NOTEBOOK}.content.widgets.map(c => ({{
            type: c.model.type, source: c.model.sharedModel.getSource()
        }}))""")

    def active_index(self) -> int:
        return int(self.page.evaluate(f"() => {_JS_NOTEBOOK}.content.activeCellIndex"))

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
                                 ).nth(index)

    def select_cell(self, index: int) -> None:
        """Click a cell's prompt area: the cell becomes active, in command mode."""
        self.cell(index).locator(".jp-InputPrompt").click()
        self.page.wait_for_function(f"(i) => {_JS_NOTEBOOK}.content.activeCellIndex === i",
                                    arg=index)

    def run_cell(self, index: int, timeout: float = 60_000) -> None:
        """Select cell ``index``, press Shift+Enter and wait until it has run."""
        self.select_cell(index)
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function(
            f"""(i) => {{
                const c = {_JS_NOTEBOOK}.content.widgets[i];
                const prompt = c.node.querySelector('.jp-InputPrompt');
                return c.model.executionCount !== null && prompt
                    && !prompt.textContent.includes('*');
            }}""",
            arg=index, timeout=timeout,
        )

    def screenshot(self, name: str, docs_name: str | None = None, **kwargs: Any) -> Path:
        """Save a screenshot to test-artifacts/; also to docs/img/``docs_name`` when the
        environment has CODEX_MAGIC_DOC_SCREENSHOTS=1 (so test runs leave git clean)."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), **kwargs)
        if docs_name and os.environ.get("CODEX_MAGIC_DOC_SCREENSHOTS") == "1":
            (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, REPO / "docs" / "img" / docs_name)
        return path


@pytest.fixture
def lab(page: Any, lab_server: LabServer) -> Lab:
    return Lab(page, lab_server)


@pytest.fixture
def notebook7(page: Any, notebook7_server: LabServer) -> Lab:
    return Lab(page, notebook7_server, ui="notebook")
