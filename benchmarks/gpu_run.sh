#!/bin/bash
# The sampling benchmark on a GPU machine, in one command. In the project's root there:
#
#   source .gpu/build.sh            # once per machine: llama-cpp-python with CUDA (~5 min)
#   bash benchmarks/gpu_run.sh      # this script
#
# (.gpu/ is made by ../shared/gpu/prepare.sh on a machine with registry access.) If
# llama_cpp with GPU offload is not importable yet, this script sources .gpu/build.sh
# itself, which builds it first. It then writes a random-weight Qwen2.5-Coder-1.5B-shaped
# Q4_K_M model (no weights can be downloaded there) and times n = 1, 10, 32 candidates:
# the naive loop of create_completion calls, our engine sampling on the host, and our
# engine with llama.cpp's backend sampler chains (the device), with peak GPU memory and
# the host's milliseconds per step; then the host work per step alone (bench_host.py:
# before, numpy and the compiled row kernel side by side).
# Figures go to stdout and to $OUT/bench_gpu.json ($OUT, else /tmp/codex-bench).
# Extra arguments go to bench_sampling.py, e.g. --dtype f16 or --n 1,10.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/codex-bench}
mkdir -p "$out"
export PYTHONUNBUFFERED=1

if ! python3 -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)" 2>/dev/null; then
  if [ ! -f .gpu/build.sh ]; then
    echo "no CUDA llama_cpp and no .gpu/build.sh: run ../shared/gpu/prepare.sh where a registry is reachable" >&2
    exit 1
  fi
  set +u
  # shellcheck disable=SC1091
  source .gpu/build.sh
  set -u
fi

# The host sampler's compiled row kernel (a checkout carries no build outputs).
python3 hatch_build.py || echo "(host sampling falls back to numpy)"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__, 'gpu offload:', llama_cpp.llama_supports_gpu_offload())"

# The model lives outside the project tree so that it never travels back with $OUT.
export CODEX_MAGIC_CACHE=${CODEX_MAGIC_CACHE:-/tmp/codex-magic-cache}
python3 benchmarks/bench_sampling.py --shape qwen2.5-coder-1.5b --dtype q4_k_m --n 1,10,32 \
  --sides naive,numpy,engine,device --json "$out/bench_gpu.json" "$@" 2>&1 | tee "$out/bench_gpu.txt"
python3 benchmarks/bench_host.py --json "$out/bench_host.json" 2>&1 | tee "$out/bench_host.txt"
