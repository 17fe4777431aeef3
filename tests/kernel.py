"""A real IPython kernel for tests: execute code, collect what the user would see.

A test that leaves its kernel busy (a run that never ends) or dead must not take
the next tests with it: ``SharedKernel`` checks the kernel between tests and
replaces it when it does not answer, and ``Kernel.run`` interrupts the cell
when its deadline passes instead of leaving it running.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from jupyter_client.manager import start_new_kernel

# A loaded model on a busy 2-core machine samples at 10+ tokens a second; loading takes
# a few seconds. Deadlines are derived from the work with these, not fixed at minutes.
SLOW_TOKENS_PER_S = 10.0
START_S = 20.0


def deadline(samples: int = 1, max_tokens: int = 32, examples: int = 2) -> float:
    """Seconds a %%codex run of this size may take on a slow, busy machine."""
    return START_S + samples * max_tokens / SLOW_TOKENS_PER_S + 2.0 * samples * examples


@dataclass
class Outcome:
    status: str
    stdout: str = ""
    stderr: str = ""
    data: list[dict] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def text(self) -> str:
        plain = "\n".join(d.get("text/plain", "") for d in self.data)
        return self.stdout + self.stderr + plain + self.error


class Kernel:
    def __init__(self, setup: str = "") -> None:
        self.setup = setup
        self._start()

    def _start(self) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3")
        if self.setup:
            out = self.run(self.setup, timeout=60)
            assert out.status == "ok", out.text

    def run(self, code: str, timeout: float = 60, interrupt_after: float | None = None) -> Outcome:
        """Execute ``code``; past ``timeout`` seconds the cell is interrupted and
        ``TimeoutError`` raised (the kernel is left for ``responsive`` to judge)."""
        msg_id = self.kc.execute(code, store_history=True)
        out = Outcome(status="?")
        start = time.monotonic()
        interrupted = False
        displays: dict[str, int] = {}
        while True:
            if interrupt_after is not None and not interrupted and \
                    time.monotonic() - start > interrupt_after:
                self.km.interrupt_kernel()
                interrupted = True
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if time.monotonic() - start > timeout:
                    self.km.interrupt_kernel()
                    raise TimeoutError(f"no end after {timeout:.0f} s: {code[:200]}") from None
                if not self.km.is_alive():
                    raise RuntimeError(f"the kernel died running: {code[:200]}") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                setattr(out, content["name"], getattr(out, content["name"]) + content["text"])
            elif kind in ("display_data", "execute_result"):
                did = content.get("transient", {}).get("display_id")
                if did:
                    displays[did] = len(out.data)
                out.data.append(content["data"])
            elif kind == "update_display_data":
                did = content.get("transient", {}).get("display_id")
                if did in displays:
                    out.data[displays[did]] = content["data"]
            elif kind == "error":
                out.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        out.seconds = time.monotonic() - start
        reply = self._shell_reply(msg_id)
        out.status = reply["content"]["status"] if reply else "?"
        return out

    def _shell_reply(self, msg_id: str) -> dict | None:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                reply = self.kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply
        return None

    def responsive(self) -> bool:
        """Whether the kernel is alive and idle: it answers a trivial cell at once."""
        if not self.km.is_alive():
            return False
        try:
            return self.run("print('ping')", timeout=15).stdout.strip() == "ping"
        except (TimeoutError, RuntimeError):
            return False

    def replace(self) -> None:
        """A fresh kernel in place of a stuck or dead one, set up again."""
        self.close()
        self._start()

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


def shared_kernel(setup: str) -> Iterator[Kernel]:
    """A generator for a module-scoped fixture: one kernel, checked before each use."""
    k = Kernel(setup)
    try:
        yield k
    finally:
        k.close()


def healthy(k: Kernel) -> Kernel:
    """``k``, or a fresh kernel in its place when a previous test left it busy or dead."""
    if not k.responsive():
        k.replace()
    return k


def usage_error_line(kernel: Kernel, magic: str, cell: str) -> str:
    """Run ``cell`` under the cell magic ``magic`` (a first line starting with "-" is its
    arguments) and return the one-line UsageError it must give, the kernel alive after."""
    head, _, body = cell.partition("\n") if cell.startswith("-") else ("", "", cell)
    out = kernel.run(f"%%{magic} {head}\n{body}")
    assert out.status == "error"
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("UsageError: "), out.stderr
    assert "Traceback" not in out.text
    assert kernel.run("print(6 * 7)").stdout.strip() == "42"
    return lines[0]
