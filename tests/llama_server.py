"""llama-cpp-python's OpenAI-compatible server, as the tests and benchmarks start it.

    python -m tests.llama_server --model M --host 127.0.0.1 --port P [its other flags]

is ``python -m llama_cpp.server`` with one change: llama.cpp's AMX weight repacking is
off on CPUs with AMX. On the Xeons we test on it crashes the server at its first
completion (SIGILL in libggml-cpu; the in-process engine turns it off too, see
llama_engine.py), and the server has no flag for it. ``start`` runs it on a free
port and waits until it answers.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LlamaServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's clean shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(model: Path, log: Path, *args: str, timeout: float = 120.0) -> LlamaServer:
    """The server on 127.0.0.1 serving ``model``, once ``/v1/models`` answers."""
    from codex_magic.runtime.resources import usable_cores

    port = free_port()
    cmd = [sys.executable, "-m", "tests.llama_server", "--model", str(model),
           "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(usable_cores()),
           "--logits_all", "True", "--verbose", "False", *args]
    root = Path(__file__).resolve().parent.parent
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [
        str(root), os.environ.get("PYTHONPATH")]))}
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root,
                                   env=env)
    server = LlamaServer(process, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the llama-cpp-python server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2) as r:
                json.load(r)
            return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the llama-cpp-python server did not start: {log.read_text()[-2000:]}")


def main() -> None:
    import llama_cpp.llama_cpp as raw

    from codex_magic.runtime.resources import cpu_has_amx

    if cpu_has_amx():
        default_params = raw.llama_model_default_params

        def model_params():  # type: ignore[no-untyped-def]
            p = default_params()
            p.use_extra_bufts = False
            return p

        raw.llama_model_default_params = model_params
    sys.argv[0] = "llama_cpp.server"
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
