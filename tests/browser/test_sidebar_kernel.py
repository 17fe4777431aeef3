"""The sidebar's kernel side, through a real IPython kernel and its IOPub messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from codex_magic.frontends.sidebar import ERROR_MIME, PROGRESS_MIME, RESULT_MIME, parse_request
from codex_magic.types import CodexError

pytestmark = pytest.mark.timeout(180)

ADD = 'def add(a, b):\n    """Add.\n\n    >>> add(2, 3)\n    5\n    """\n'


def test_parse_request_builds_options():
    prompt, options = parse_request(json.dumps(
        {"prompt": ADD, "options": {"samples": 3, "temperature": 0.5, "max_tokens": 40,
                                    "seed": 7, "model": "", "top_k": None,
                                    "context": True}}))
    assert prompt == ADD
    assert (options.samples, options.temperature, options.max_tokens, options.seed) == (3, 0.5,
                                                                                         40, 7)
    assert options.context is True
    assert options.model is None and options.top_k == 40  # empty / null: the defaults


@pytest.mark.parametrize("request_json, message", [
    ("not json", "not JSON"),
    (json.dumps({"options": {}}), '"prompt"'),
    (json.dumps({"prompt": "  "}), "signature"),
    (json.dumps({"prompt": ADD, "options": {"n_samples": 2}}), "unknown option"),
    (json.dumps({"prompt": ADD, "options": {"samples": 0}}), "--samples"),
    (json.dumps({"prompt": ADD, "options": {"context": "yes"}}), "context must be true or false"),
])
def test_parse_request_refuses_bad_requests(request_json, message):
    with pytest.raises(CodexError, match=message):
        parse_request(request_json)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc: Any, request: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send the sidebar's statement; the IOPub messages it caused, and the reply."""
    code = f"import codex_magic._sidebar as _cms; _cms.generate({json.dumps(json.dumps(request))})"
    msg_id = kc.execute(code, store_history=False, allow_stdin=False)
    reply = kc.get_shell_msg(timeout=150)
    # A late kernel_info reply from start_new_kernel's readiness check (it asks again when
    # the kernel is slow to answer, as on a loaded machine) may come first.
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=150)
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        messages.append(msg)
    return messages, reply


def test_a_codex_error_is_published_as_an_error_bundle(kernel):
    messages, reply = _run(kernel, {"prompt": ADD, "options": {"samples": 0}})
    assert reply["content"]["status"] == "ok"
    errors = [m["content"]["data"][ERROR_MIME] for m in messages
              if m["msg_type"] == "display_data" and ERROR_MIME in m["content"]["data"]]
    assert len(errors) == 1 and "--samples" in errors[0]["message"]


@pytest.mark.model
def test_generate_publishes_progress_in_place_then_the_result(kernel):
    messages, reply = _run(kernel, {"prompt": ADD,
                                    "options": {"samples": 2, "max_tokens": 24, "seed": 1}})
    assert reply["content"]["status"] == "ok"
    progress = [m for m in messages if PROGRESS_MIME in m["content"].get("data", {})]
    assert progress[0]["msg_type"] == "display_data"
    assert {m["msg_type"] for m in progress[1:]} == {"update_display_data"}
    display_ids = {m["content"]["transient"]["display_id"] for m in progress}
    assert len(display_ids) == 1
    phases = [m["content"]["data"][PROGRESS_MIME]["phase"] for m in progress]
    assert phases[0] == "loading" and "sampling" in phases and phases[-1] == "done"
    for m in progress:
        assert set(m["content"]["data"][PROGRESS_MIME]) == {"phase", "done", "total", "tokens"}
    results = [m["content"]["data"][RESULT_MIME] for m in messages
               if RESULT_MIME in m["content"].get("data", {})]
    assert len(results) == 1
    result = results[0]
    assert result["n_samples"] == 2 and result["seed"] == 1
    assert result["candidates"] and result["candidates"][0]["code"].startswith("def add(a, b):")
    first = result["candidates"][0]
    assert {"passed", "total", "mean_logprob", "count", "status", "badge"} <= set(first)


@pytest.mark.model
def test_context_puts_the_kernels_earlier_cells_before_the_prompt(kernel):
    # The example calls a helper only the kernel defines: without the context
    # no candidate can pass it; with it, any candidate that parses does.
    kernel.execute_interactive("def square(x):\n    return x * x\n", store_history=True,
                               timeout=30)
    prompt = 'def cube(x):\n    """Cube of x.\n\n    >>> square(3)\n    9\n    """\n'
    options = {"samples": 4, "max_tokens": 32, "seed": 3}
    results = {}
    for context in (False, True):
        messages, reply = _run(kernel, {"prompt": prompt,
                                        "options": {**options, "context": context}})
        assert reply["content"]["status"] == "ok"
        [results[context]] = [m["content"]["data"][RESULT_MIME] for m in messages
                              if RESULT_MIME in m["content"].get("data", {})]
    ran = [c for c in results[False]["candidates"]
           if c["status"] not in ("syntax error", "empty")]
    assert ran, "no candidate parsed"
    for c in ran:
        assert c["passed"] == 0
        assert "NameError" in c["failures"][0]["got"]
    assert any(c["passed"] == 1 for c in results[True]["candidates"])
