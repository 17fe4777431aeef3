"""Build hook: compiles the host sampler's row kernel (codex_magic/engines/llama/rowkernel.c).

The library is plain C loaded with ctypes (no Python headers), built for the
x86-64 baseline with its AVX2 and AVX-512 paths chosen at run time, so one wheel
serves every CPU. Without a C compiler the package still installs and works:
the sampler then uses numpy (slower per step; ``CODEX_MAGIC_HOST_KERNEL``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

SOURCE = Path("codex_magic") / "engines" / "llama" / "rowkernel.c"
LIBRARY = SOURCE.with_name("librowkernel" + (".dll" if sys.platform == "win32" else ".so"))
FLAGS = ["-O3", "-fno-trapping-math", "-std=c11", "-fPIC", "-shared"]


def compiler() -> list[str] | None:
    """The C compiler: $CC, Python's own, or cc/gcc/clang on the PATH."""
    for cc in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if cc:
            argv = shlex.split(cc)
            if argv and shutil.which(argv[0]):
                return argv
    return None


def build(root: Path) -> str | None:
    """Compiles the library in place; returns why not, or None when built."""
    cc = compiler()
    if cc is None:
        return "no C compiler found"
    out, src = root / LIBRARY, root / SOURCE
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return None
    tmp = out.with_suffix(".tmp")
    cmd = [*cc, *FLAGS, "-o", str(tmp), str(src), "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        return f"{shlex.join(cmd)} failed:\n{done.stderr.strip()}"
    tmp.replace(out)
    return None


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ModuleNotFoundError:  # imported outside a build (the tests call build())
    pass
else:
    class RowKernelHook(BuildHookInterface):  # type: ignore[type-arg]
        PLUGIN_NAME = "custom"

        def initialize(self, version: str, build_data: dict[str, Any]) -> None:
            if self.target_name != "wheel":
                return
            why = build(Path(self.root))
            if why is not None:
                self.app.display_warning(
                    f"codex-magic: the host sampler's compiled kernel was not built ({why}); "
                    "sampling uses numpy, slower per step")
                return
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            if version != "editable":
                build_data["force_include"][str(Path(self.root) / LIBRARY)] = LIBRARY.as_posix()


if __name__ == "__main__":  # a checkout used without installing: python hatch_build.py
    problem = build(Path(__file__).resolve().parent)
    print(problem or f"built {LIBRARY}")
    sys.exit(1 if problem else 0)
