"""``codex-magic models pull``: real HTTP from a real server on 127.0.0.1, real GGUF files.

The server (tests/model_server.py) serves random-weight GGUF models with Range
support, cuts connections, answers 404 and non-GGUF bodies, and imitates the
hub's ``/resolve/`` redirect with its ``X-Linked-Etag``. After a pull the model
is loaded and sampled by the real engine. The full-disk case runs the CLI in a
private mount namespace on a tiny tmpfs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codex_magic.frontends.cli import main
from codex_magic.models import download as _download
from codex_magic.models.lookup import resolve
from codex_magic.types import SamplingParams
from tests.model_server import ModelServer

ROOT = Path(__file__).resolve().parents[2]
REV = "0123456789abcdef0123456789abcdef01234567"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def model_bytes(tiny_model: Path) -> bytes:
    return tiny_model.read_bytes()


@pytest.fixture(scope="module")
def split_parts(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> list[Path]:
    """The tiny model as a real split GGUF (3 parts), as gguf-split would write it."""
    from gguf import GGUFReader, GGUFValueType, GGUFWriter

    out = tmp_path_factory.mktemp("split")
    reader = GGUFReader(tiny_model)
    writer = GGUFWriter(out / "tiny-split.gguf", reader.fields["general.architecture"].contents(),
                        split_max_tensors=10)
    for f in reader.fields.values():
        if not f.name.startswith("GGUF.") and f.name != "general.architecture":
            sub = f.types[-1] if f.types[0] == GGUFValueType.ARRAY else None
            writer.add_key_value(f.name, f.contents(), f.types[0], sub_type=sub)
    for t in reader.tensors:
        writer.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type,
                          raw_shape=[int(x) for x in reversed(t.shape)])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    parts = sorted(out.glob("tiny-split-*.gguf"))
    assert len(parts) == 3
    return parts


@pytest.fixture
def server():
    s = ModelServer()
    yield s
    s.close()


@pytest.fixture
def home(tmp_path, monkeypatch, server):
    """A models folder, cache and registry of the test's own; the hub is the local server."""
    monkeypatch.setenv("CODEX_MAGIC_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("CODEX_MAGIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CODEX_MAGIC_DISCOVER", "0")
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.setattr(_download, "RETRY_WAIT", 0.01)
    return tmp_path


def add_registry(home: Path, monkeypatch, *entries: dict) -> None:
    full = [{"description": "a test model", "licence": "MIT", "code_model": True,
             "prompt_style": "completion", "context_length": 2048,
             "temperature": {"single": 0.0, "many": 0.8}, "revision": REV, "verified": True,
             "provenance": "the test", **e} for e in entries]
    path = home / "registry.json"
    path.write_text(json.dumps({"models": full}))
    monkeypatch.setenv("CODEX_MAGIC_REGISTRY", str(path))


def hub_file(server: ModelServer, repo: str, file: str, data: bytes, rev: str = REV,
             linked: bool = True) -> None:
    path = f"/{repo}/resolve/{rev}/{file}"
    server.files[path] = data
    if linked:
        server.hub[path] = {"sha256": sha(data), "size": str(len(data)), "commit": REV}


def pull(*args: str) -> int:
    return main(["models", "pull", *args, "--quiet"])


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("codex-magic: ") and "Traceback" not in err
    return lines[0]


def leftovers(home: Path) -> list[str]:
    folder = home / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def draw(path: Path) -> list:
    from codex_magic.engines.llama.engine import LlamaEngine

    engine = LlamaEngine(path)
    try:
        return engine.sample("def f(x):\n", SamplingParams(n=2, temperature=0.5, max_tokens=8,
                                                           seed=3))
    finally:
        engine.close()


# -- a URL --------------------------------------------------------------------------------


def test_pull_a_url_then_use_it_by_name(home, server, model_bytes, capsys):
    server.files["/files/tiny-coder.gguf"] = model_bytes
    url = server.url("/files/tiny-coder.gguf")
    assert pull(url, "--sha256", sha(model_bytes)) == 0
    path = home / "models" / "tiny-coder.gguf"
    assert path.read_bytes() == model_bytes
    assert leftovers(home) == ["index.json", "tiny-coder.gguf"]  # no .part left behind
    assert "verified" in capsys.readouterr().out
    index = json.loads((home / "models" / "index.json").read_text())
    assert index["pulled"]["tiny-coder"] == {"url": url, "sha256": sha(model_bytes),
                                             "size": len(model_bytes), "file": "tiny-coder.gguf"}
    # The name works where a registry name does.
    assert resolve("tiny-coder").path == path.resolve()
    assert main(["models", "path", "tiny-coder"]) == 0
    assert capsys.readouterr().out.strip() == str(path.resolve())
    samples = draw(resolve("tiny-coder").path)
    assert len(samples) == 2 and all(s.token_ids for s in samples)
    assert main(["models", "verify", "tiny-coder"]) == 0
    assert capsys.readouterr().out.startswith("ok       tiny-coder: sha256 " + sha(model_bytes))
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["tiny-coder"]["status"] == "present" and listed["tiny-coder"]["verified"]
    # A second pull finds it intact and downloads nothing.
    before = len(server.gets())
    assert pull(url, "--sha256", sha(model_bytes)) == 0
    assert len(server.gets()) == before
    assert "already here" in capsys.readouterr().out


def test_a_wrong_sha256_is_one_line_and_saves_nothing(home, server, model_bytes, capsys):
    server.files["/m.gguf"] = model_bytes
    assert pull(server.url("/m.gguf"), "--sha256", "0" * 64, "--name", "m") == 1
    line = one_line(capsys.readouterr().err)
    assert "sha256" in line and "nothing was saved" in line
    assert leftovers(home) == []
    with pytest.raises(Exception, match="unknown model"):
        resolve("m")


def test_a_cut_connection_is_resumed_by_the_next_pull(home, server, model_bytes, capsys):
    half = len(model_bytes) // 2
    server.files["/big.gguf"] = model_bytes
    server.cut_at["/big.gguf"] = half
    server.cuts_left = 99
    url = server.url("/big.gguf")
    assert main(["models", "pull", url, "--sha256", sha(model_bytes), "--retries", "0",
                 "--quiet"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "resume" in line
    parts = [p for p in leftovers(home) if p.endswith(".part")]
    assert len(parts) == 1 and not any(p.endswith(".gguf") for p in leftovers(home))
    assert (home / "models" / parts[0]).stat().st_size == half
    # The next pull of the same URL and hash resumes it, whatever name it is given.
    server.cuts_left = 0
    assert pull(url, "--sha256", sha(model_bytes), "--name", "resumed") == 0
    assert server.ranges() == [f"bytes={half}-"]
    assert (home / "models" / "resumed.gguf").read_bytes() == model_bytes
    assert not [p for p in leftovers(home) if p.endswith(".part")]


def test_retries_within_one_pull_resume_with_range(home, server, model_bytes):
    server.files["/flaky.gguf"] = model_bytes
    server.cut_at["/flaky.gguf"] = 1000
    server.cuts_left = 2  # the first two answers are cut; the third completes
    assert pull(server.url("/flaky.gguf"), "--sha256", sha(model_bytes)) == 0
    assert server.ranges() == ["bytes=1000-", "bytes=1000-"]
    assert (home / "models" / "flaky.gguf").read_bytes() == model_bytes


def test_a_url_signed_for_get_only_is_downloaded_without_head(home, server, model_bytes):
    server.files["/signed.gguf"] = model_bytes
    server.head_status["/signed.gguf"] = 403  # S3-style presigned URLs refuse HEAD
    assert pull(server.url("/signed.gguf"), "--sha256", sha(model_bytes)) == 0
    assert (home / "models" / "signed.gguf").read_bytes() == model_bytes


def test_a_plain_redirect_is_followed(home, server, model_bytes):
    server.files["/releases/v1/m.gguf"] = model_bytes
    server.hub["/releases/v1/m.gguf"] = {}  # a redirect to /cdn/... without the hub's headers
    assert pull(server.url("/releases/v1/m.gguf"), "--sha256", sha(model_bytes)) == 0
    assert [r.path for r in server.requests] == ["/releases/v1/m.gguf", "/cdn/releases/v1/m.gguf",
                                                 "/releases/v1/m.gguf", "/cdn/releases/v1/m.gguf"]
    assert (home / "models" / "m.gguf").read_bytes() == model_bytes


def test_a_404_is_one_line(home, server, capsys):
    assert pull(server.url("/nothing.gguf"), "--sha256", "a" * 64) == 1
    line = one_line(capsys.readouterr().err)
    assert "HTTP 404" in line and "no such file" in line
    assert leftovers(home) == []


def test_a_body_that_is_not_gguf_is_refused(home, server, capsys):
    page = b"<!DOCTYPE html><html>Please log in</html>" * 10
    server.files["/login.gguf"] = page
    server.content_type["/login.gguf"] = "text/html"
    assert pull(server.url("/login.gguf"), "--sha256", sha(page)) == 1
    line = one_line(capsys.readouterr().err)
    assert "did not send a GGUF file" in line and "text/html" in line
    assert leftovers(home) == []


@pytest.mark.parametrize(("args", "message"), [
    (["https://example.invalid/m.gguf"], "needs --sha256"),
    (["https://example.invalid/m.gguf", "--sha256", "xyz"], "64 hexadecimal"),
    (["https://example.invalid/download?id=3", "--sha256", "a" * 64], "give --name"),
    (["https://example.invalid/m.gguf", "--sha256", "a" * 64, "--name", "qwen2.5-coder-1.5b"],
     "cannot be used"),
    (["qwen2.5-coder-1.5b", "--sha256", "a" * 64], "for pulling a URL"),
    (["no-such-model"], "unknown model"),
])
def test_usage_mistakes_exit_2(home, server, args, message, capsys):
    assert pull(*args) == 2
    assert message in one_line(capsys.readouterr().err)
    assert server.requests == []


# -- registry entries ---------------------------------------------------------------------


def test_a_split_registry_model_pulls_every_part(home, server, split_parts, monkeypatch, capsys):
    files = []
    for part in split_parts:
        data = part.read_bytes()
        hub_file(server, "test/tiny-split-GGUF", part.name, data)
        files.append({"file": part.name, "size": len(data), "sha256": sha(data)})
    add_registry(home, monkeypatch, {"name": "tiny-split", "repo": "test/tiny-split-GGUF",
                                     "files": files})
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["tiny-split"]["status"] == "missing"
    assert pull("tiny-split") == 0
    assert leftovers(home) == sorted(p.name for p in split_parts)
    # llama.cpp loads a split model from its first part.
    first = resolve("tiny-split").path
    assert first.name.endswith("-00001-of-00003.gguf")
    assert len(draw(first)) == 2
    assert main(["models", "verify"]) == 0
    assert capsys.readouterr().out.count("ok ") >= 1
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["tiny-split"]["status"] == "present" and listed["tiny-split"]["verified"]


def test_a_split_model_with_a_missing_part_keeps_no_part(home, server, split_parts,
                                                         monkeypatch, capsys):
    files = []
    for i, part in enumerate(split_parts):
        data = part.read_bytes()
        if i != 1:  # the second part is not on the server
            hub_file(server, "test/broken", part.name, data)
        files.append({"file": part.name, "size": len(data), "sha256": sha(data)})
    add_registry(home, monkeypatch, {"name": "broken", "repo": "test/broken", "files": files})
    assert pull("broken") == 1
    assert "HTTP 404" in one_line(capsys.readouterr().err)
    assert not [p for p in leftovers(home) if p.endswith(".gguf")]


def test_an_unverified_entry_checks_and_records_the_hubs_sha256(home, server, model_bytes,
                                                                monkeypatch, capsys):
    hub_file(server, "test/new-GGUF", "new.gguf", model_bytes, rev="main")
    add_registry(home, monkeypatch, {"name": "new", "repo": "test/new-GGUF", "revision": "main",
                                     "verified": False,
                                     "files": [{"file": "new.gguf", "size": None,
                                                "sha256": None}]})
    assert pull("new") == 0
    out = capsys.readouterr().out
    assert sha(model_bytes) in out and "compare it with" in out and REV in out
    index = json.loads((home / "models" / "index.json").read_text())
    assert index["hub"]["new"]["files"] == [{"file": "new.gguf", "sha256": sha(model_bytes),
                                             "size": len(model_bytes)}]
    assert index["hub"]["new"]["commit"] == REV
    assert main(["models", "verify", "new"]) == 0  # against the sha256 the hub sent
    # The recorded sha256 catches a later change on disk.
    path = home / "models" / "new.gguf"
    data = bytearray(model_bytes)
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    assert main(["models", "verify", "new"]) == 1
    assert "corrupt" in capsys.readouterr().out


def test_the_hub_disagreeing_with_the_registry_stops_before_downloading(home, server,
                                                                        model_bytes,
                                                                        monkeypatch, capsys):
    hub_file(server, "test/changed", "changed.gguf", model_bytes)
    add_registry(home, monkeypatch, {"name": "changed", "repo": "test/changed",
                                     "files": [{"file": "changed.gguf", "size": len(model_bytes),
                                                "sha256": "b" * 64}]})
    assert pull("changed") == 1
    assert "the server says" in one_line(capsys.readouterr().err)
    assert server.gets() == []  # only the HEAD that read the hub's headers
    assert leftovers(home) == []


def test_model_names_never_touch_the_network(home, server, monkeypatch, capsys):
    """Only ``models pull`` downloads: listing, resolving, verifying and path stay offline."""
    from codex_magic.types import CodexError

    with pytest.raises(CodexError, match=r"models pull qwen2\.5-coder-1\.5b"):
        resolve("qwen2.5-coder-1.5b")
    assert main(["models"]) == 0
    assert main(["models", "verify"]) == 0
    assert main(["models", "path", "qwen2.5-coder-7b"]) == 1
    assert "not downloaded" in one_line(capsys.readouterr().err)
    assert server.requests == []


# -- a full disk ----------------------------------------------------------------------------


def _can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(not _can_mount_tmpfs(),
                                 reason="needs root and mount namespaces (unshare -m) to make a "
                                        "tiny tmpfs; a read-only folder does not stop root")


def _pull_on_tiny_disk(home: Path, server: ModelServer, *args: str) -> tuple[int, str, str]:
    """The CLI in a private mount namespace whose models folder is a 128 KB tmpfs."""
    disk = home / "disk"
    disk.mkdir()
    env = {**os.environ, "CODEX_MAGIC_MODELS": str(disk), "PYTHONPATH": str(ROOT),
           "CODEX_MAGIC_CACHE": str(home / "cache"), "HF_ENDPOINT": server.base}
    script = (f'mount -t tmpfs -o size=128k tmpfs "{disk}" || exit 99; '
              f'"{sys.executable}" -m codex_magic.frontends.cli models pull "$@" --quiet '
              f'--retries 0; '
              f'rc=$?; ls -A "{disk}"; exit $rc')
    out = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 99, out.stderr
    return out.returncode, out.stdout, out.stderr


@needs_tmpfs
def test_a_full_disk_mid_download_is_one_line(home, server, model_bytes):
    # No length announced anywhere, so nothing can refuse before the disk fills.
    server.files["/nolength.gguf"] = model_bytes
    server.no_length.add("/nolength.gguf")
    assert len(model_bytes) > 128 * 1024
    rc, listing, err = _pull_on_tiny_disk(home, server, server.url("/nolength.gguf"),
                                          "--sha256", sha(model_bytes))
    assert rc == 1
    assert "the disk is full" in one_line(err)
    assert not [f for f in listing.split() if f.endswith(".gguf")], listing


@needs_tmpfs
def test_a_model_larger_than_the_free_space_is_refused_before_downloading(home, server,
                                                                          model_bytes,
                                                                          monkeypatch):
    hub_file(server, "test/big", "big.gguf", model_bytes)
    add_registry(home, monkeypatch, {"name": "big", "repo": "test/big",
                                     "files": [{"file": "big.gguf", "size": len(model_bytes),
                                                "sha256": sha(model_bytes)}]})
    rc, listing, err = _pull_on_tiny_disk(home, server, "big")
    assert rc == 1
    assert "not enough disk space" in one_line(err)
    assert listing.split() == []
    assert server.gets() == []


def test_two_pulls_of_one_file_do_not_interleave(home, server, model_bytes, capsys):
    import fcntl

    server.files["/same.gguf"] = model_bytes
    url = server.url("/same.gguf")
    part = _download.part_path(_download.Part(url, home / "models" / "same.gguf"),
                               sha(model_bytes))
    part.parent.mkdir(parents=True)
    with part.open("ab") as held:  # another pull of it is running
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert pull(url, "--sha256", sha(model_bytes)) == 1
    assert "another pull" in one_line(capsys.readouterr().err)
    assert pull(url, "--sha256", sha(model_bytes)) == 0
