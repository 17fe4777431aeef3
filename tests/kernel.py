"""A real IPython kernel for tests: execute code, collect what the user would see."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field

from jupyter_client.manager import start_new_kernel


@dataclass
class Outcome:
    status: str
    stdout: str = ""
    stderr: str = ""
    data: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def text(self) -> str:
        plain = "\n".join(d.get("text/plain", "") for d in self.data)
        return self.stdout + self.stderr + plain + self.error


class Kernel:
    def __init__(self) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3")

    def run(self, code: str, timeout: float = 300, interrupt_after: float | None = None) -> Outcome:
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
                    raise TimeoutError(code) from None
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
        reply = self.kc.get_shell_msg(timeout=30)
        out.status = reply["content"]["status"]
        return out

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
