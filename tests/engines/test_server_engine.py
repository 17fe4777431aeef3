"""The server engine against real HTTP servers of the tests' own (tests/fake_openai.py):
what a real inference server does on a bad day, and what servers differ in.

The same engine against llama-cpp-python's real server is in test_server_llama.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from codex_magic.engines.server import engine as server_engine
from codex_magic.engines.server.client import parse_url
from codex_magic.engines.server.engine import NO_LOGPROBS_NOTE, ServerEngine
from codex_magic.frontends.option_forms import config_traits, schema
from codex_magic.options import Options
from codex_magic.pipeline import solve
from codex_magic.prompt import STOP_SEQUENCES, stop_index
from codex_magic.runtime import interrupts as _interrupt
from codex_magic.types import CodexError, SamplingParams
from tests.fake_openai import MODEL, FakeServer
from tests.llama_server import free_port

KEY = "sk-test-5ec2e7-never-shown"
CELL = 'def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    """\n'
PARAMS = SamplingParams(n=3, temperature=0.8, seed=5, max_tokens=16)
FAST = {"retry_delays": (0.01, 0.02), "read_timeout": 0.5}


def draw(url: str, params: SamplingParams = PARAMS, **kwargs):
    engine = ServerEngine(url, **({"api_key": KEY} | FAST | kwargs))
    return engine, engine.sample(CELL, params, stop=stop_index)


def cli(*args: object, env: dict[str, str] | None = None, stdin: str = ""
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codex_magic.frontends.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, input=stdin,
                          env=os.environ | (env or {}))


def no_request_threads() -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if not any(t.name.startswith("codex-server") for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(autouse=True)
def _fresh_engines():
    server_engine._engines.clear()
    yield
    server_engine._engines.clear()


def test_one_request_for_n_choices_with_logprobs_and_the_papers_stops():
    with FakeServer("ok") as fake:
        engine, samples = draw(fake.url)
    assert len(fake.requests) == 1 and engine.batches_n is True
    body = fake.requests[0]
    assert body | {"prompt": "", "stop": []} == {
        "model": MODEL, "prompt": "", "n": 3, "max_tokens": 16, "temperature": 0.8,
        "top_p": 0.95, "top_k": 40, "seed": 5, "stream": True, "logprobs": 1, "stop": []}
    assert body["prompt"] == CELL and body["stop"] == list(STOP_SEQUENCES)
    assert fake.headers_seen[-1]["Authorization"] == f"Bearer {KEY}"
    # Our own stop rule (an unindented line) cut each one, log-probs of what was kept only.
    assert [s.text for s in samples] == [f"    return a + {sd % 7}" for sd in (5, 6, 7)]
    assert [s.seed for s in samples] == [5, 6, 7]
    assert all(s.token_logprobs == (-0.25,) * 3 and s.finish_reason == "stop" for s in samples)
    assert engine.stats.generated_tokens >= 12 and engine.stats.extra["requests"] == 1
    assert no_request_threads()


def test_logprobs_in_the_chat_shape_llama_server_uses():
    with FakeServer("chat-logprobs") as fake:
        engine, samples = draw(fake.url)
    assert engine.gives_logprobs is None and engine.stats.notes == []
    assert all(s.token_logprobs == (-0.25,) * 3 for s in samples)


def test_a_server_that_ignores_n_gets_one_request_per_sample_seeded_seed_plus_i():
    with FakeServer("one") as fake:
        engine, first = draw(fake.url)
        assert engine.batches_n is False
        asked = [(r["n"], r["seed"]) for r in fake.requests]  # the others at once, any order
        assert asked[0] == (3, 5) and sorted(asked[1:]) == [(1, 6), (1, 7)]
        again = engine.sample(CELL, PARAMS, stop=stop_index)
    # Next time it asks one by one from the start, for the same candidates.
    assert sorted((r["n"], r["seed"]) for r in fake.requests[3:]) == [(1, 5), (1, 6), (1, 7)]
    assert first == again and [s.seed for s in first] == [5, 6, 7]


def test_without_logprobs_ranked_by_tests_and_the_result_says_so():
    with FakeServer("no-logprobs") as fake:
        result = solve(CELL, Options(server=fake.url, samples=3, seed=1, max_tokens=16))
    assert NO_LOGPROBS_NOTE in result.notes
    data = result.to_json()
    assert data["n_samples"] == 3 and data["notes"] == [NO_LOGPROBS_NOTE]
    assert "no log-probs" in data["summary"]
    best = data["candidates"][0]
    assert best["code"].startswith("def add(a, b):") and best["mean_logprob"] is None
    # Seeds 1, 2, 3 wrote a + 1, a + 2, a + 3: the one that passes is first.
    assert (best["passed"], best["total"]) == (1, 1) and best["body"] == "    return a + 3\n"


def test_a_server_refusing_logprobs_is_asked_again_without():
    with FakeServer("refuse-logprobs") as fake:
        engine, samples = draw(fake.url)
    assert [("logprobs" in r) for r in fake.requests] == [True, False]
    assert engine.gives_logprobs is False and engine.stats.notes == [NO_LOGPROBS_NOTE]
    assert all(s.token_logprobs == () for s in samples)


@pytest.mark.parametrize("status", [429, 503])
def test_busy_server_retried_with_backoff(status):
    with FakeServer("busy", status=status, fails=2) as fake:
        _, samples = draw(fake.url)
    assert len(fake.requests) == 3 and len(samples) == 3


def test_busy_for_good_gives_up_in_one_line():
    with FakeServer("busy", fails=100) as fake, pytest.raises(CodexError) as e:
        draw(fake.url)
    assert len(fake.requests) == 3  # two retries
    assert "busy (HTTP 429)" in str(e.value) and "3 tries" in str(e.value)


@pytest.mark.parametrize(("mode", "key", "words"), [
    ("401", None, "it needs an API key: set the CODEX_MAGIC_API_KEY"),
    ("401", KEY, "(HTTP 401: invalid key Bearer ***): set CODEX_MAGIC_API_KEY to a key"),
    ("403", KEY, "refused the request (HTTP 403"),
    ("404", KEY, "HTTP 404 for /completions with model 'fake-coder': The model"),
    ("no-api", KEY, "/v1/models does not exist (HTTP 404: Not Found): --server must be"),
    ("400", KEY, "(HTTP 400: This model's maximum context length is 2048 tokens, however "
                 "you requested 4000 tokens): shorten the cell or lower --max-tokens"),
    ("empty", KEY, "maximum context length is 2048 tokens"),  # llama-cpp-python's way
    ("500", KEY, "failed (HTTP 500: CUDA error: out of memory): see the server's log"),
    ("garbage", KEY, "sent a reply that is not JSON ('<html><body>Welcome to nginx!"),
    ("no-choices", KEY, "sent a reply without choices"),
    ("slow", KEY, "sent nothing for 0.5 s: it is overloaded or stuck"),
    ("cut", KEY, "start it with --interrupt_requests False"),
])
def test_failures_end_in_one_line_without_the_key(mode, key, words):
    with FakeServer(mode, delay=2.0) as fake, pytest.raises(CodexError) as e:
        draw(fake.url, api_key=key)
    message = str(e.value)
    assert words in message, message
    assert "\n" not in message and KEY not in message
    assert no_request_threads()


def test_a_model_the_server_does_not_have():
    with FakeServer("ok", models=("a", "b")) as fake, pytest.raises(CodexError) as e:
        ServerEngine(fake.url, "c")
    assert str(e.value).endswith("has no model 'c': --model must be one it serves ('a', 'b')")
    with FakeServer("ok", models=("a", "b")) as fake:
        assert ServerEngine(fake.url).model == "a"  # without --model: the first


def test_nobody_listening_one_line_from_the_cli_too():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(CodexError, match=r"nothing answers at .* \(connection refused\)"):
        ServerEngine(url)
    out = cli("solve", "-", "--server", url, env={"CODEX_MAGIC_API_KEY": KEY}, stdin=CELL)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("codex-magic: nothing answers at") and \
        out.stderr.count("\n") == 1 and KEY not in out.stderr


def test_a_server_killed_in_the_middle_of_a_reply():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_openai", "die", str(port)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        with pytest.raises(CodexError) as e:
            draw(f"http://127.0.0.1:{port}/v1")
        assert proc.wait(5) == -9  # it really was killed, mid-stream
    finally:
        proc.kill()
        proc.wait()
    assert "closed the connection in the middle of a reply: it stopped or crashed" in \
        str(e.value)
    assert no_request_threads()


def test_interrupt_closes_the_requests_and_leaves_nothing():
    with FakeServer("trickle", delay=0.05) as fake:
        engine = ServerEngine(fake.url)
        timer = threading.Timer(0.5, _interrupt.request)
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt), _interrupt.interruptible():
            engine.sample(CELL, SamplingParams(n=2, temperature=0.8, max_tokens=4096, seed=1),
                          stop=[])
        took = time.monotonic() - t0
        assert no_request_threads()
        deadline = time.monotonic() + 2
        while fake.active and time.monotonic() < deadline:
            time.sleep(0.02)
        # The server saw every request go (the first, for n=2, answers one choice at a time).
        assert fake.active == 0 and fake.disconnects == len(fake.requests) >= 1
        assert took < 1.5, took
        # Nothing half-made: the next call works.
        fake.mode = "ok"
        assert len(engine.sample(CELL, PARAMS, stop=stop_index)) == 3


def test_the_api_key_is_never_shown():
    with FakeServer("401") as fake:
        with pytest.raises(CodexError) as e:
            ServerEngine(fake.url, api_key=KEY)
        assert KEY not in str(e.value) and "***" in str(e.value)
        out = cli("solve", "-", "--server", fake.url, "--traceback",
                  env={"CODEX_MAGIC_API_KEY": KEY}, stdin=CELL)
        assert out.returncode != 0 and KEY not in out.stderr + out.stdout
    with FakeServer("ok") as fake:
        engine = ServerEngine(fake.url, api_key=KEY)
        shown = [repr(engine), str(vars(engine)), repr(engine.client), str(vars(engine.client)),
                 repr(engine.client.key), str(engine.client.key)]
        assert not any(KEY in s for s in shown)
        result = solve(CELL, Options(server=fake.url, samples=2, seed=1, max_tokens=8),
                       engine=engine)
        assert KEY not in json.dumps(result.to_json()) + repr(result)
    # Not an option: no flag, no %config trait, no sidebar field.
    assert not any("key" in name for name in config_traits())
    assert not any("key" in o["name"] for o in schema())


def test_server_option_flag_env_config_and_url_checks(monkeypatch):
    assert "server" in config_traits() and any(o["name"] == "server" for o in schema())
    monkeypatch.delenv("CODEX_MAGIC_SERVER", raising=False)
    assert server_engine.server_url(None) is None
    monkeypatch.setenv("CODEX_MAGIC_SERVER", "http://gpu-box:8000/v1")
    assert server_engine.server_url(None) == "http://gpu-box:8000/v1"
    assert server_engine.server_url("http://other/v1") == "http://other/v1"
    monkeypatch.setenv("CODEX_MAGIC_SERVER", "")  # empty: in process
    assert server_engine.server_url(None) is None
    with pytest.raises(CodexError, match="--server must be"):
        Options(server=" ")
    assert str(parse_url("http://gpu-box:8000/")) == "http://gpu-box:8000/v1"
    assert parse_url("https://h/api/v1").base == "/api/v1"
    for bad in ("gpu-box:8000", "ftp://h/v1", "http://h:99999/v1"):
        with pytest.raises(CodexError, match="http:// or https:// URL"):
            parse_url(bad)
    with pytest.raises(CodexError) as e:
        parse_url("http://me:hunter2@h/v1")
    assert "hunter2" not in str(e.value) and "CODEX_MAGIC_API_KEY" in str(e.value)
    out = cli("solve", "--help")
    assert "--server URL" in out.stdout and "CODEX_MAGIC_API_KEY" in out.stdout


def test_eval_keeps_k_problems_in_flight_and_resumes(tmp_path):
    from codex_magic.evaluation import evaluate_problems

    problems = [{"task_id": f"T/{i}", "prompt": f'def f{i}(a):\n    """Add {i % 7}."""\n',
                 "test": f"def check(candidate):\n    assert candidate(1) == {1 + i % 7}\n",
                 "entry_point": f"f{i}"} for i in range(6)]
    with FakeServer("slow", delay=0.4) as fake:
        report = evaluate_problems(problems, n=2, temperatures=[0.8], server=fake.url,
                                   concurrency=3, out=tmp_path, progress=False)
        assert fake.max_active == 3 and len(fake.requests) == 6
        assert report.settings["server"] == fake.url and report.settings["model"] == MODEL
        again = evaluate_problems(problems, n=2, temperatures=[0.8], server=fake.url,
                                  concurrency=3, out=tmp_path, progress=False)
        assert len(fake.requests) == 6  # all resumed from the samples file
    assert again.to_json()["pass_at_k"] == report.to_json()["pass_at_k"]
    rows = [json.loads(line) for line in (tmp_path / "samples_t0.8.jsonl").open()]
    assert len(rows) == 12 and {r["task_id"] for r in rows} == {p["task_id"] for p in problems}
    with pytest.raises(CodexError, match="--concurrency needs --server"):
        evaluate_problems(problems, concurrency=2)
