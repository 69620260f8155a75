"""Tiny Llama, Qwen3, Gemma and Mistral models, each built from its config and saved as
a model folder, solve end to end through `sdpo solve --model FOLDER`: a failed round,
an SDPO update (on vLLM also the in-memory weight sync, checked by the sampler-trainer
gap of the update, at a temperature and top-p), then the verified solution. On the hf
backend and on vLLM."""

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import inline_solve, run_sdpo
from tiny_model import ARCHITECTURES, build_tiny_model

from sdpo_cli.backends.base import PARITY_TOLERANCE

BACKENDS = ["hf"] + (["vllm"] if importlib.util.find_spec("vllm") else [])

# A trusted command verifier (the user's own, not sandboxed) that counts the attempts it
# has seen in a folder: the first two fail, every later one passes. With batch 2 the
# first round fails and trains, and the second round solves.
THIRD_PASSES = (
    "import os, sys, uuid; sys.stdin.read(); d = sys.argv[1]; "
    "open(os.path.join(d, uuid.uuid4().hex), 'w').close(); "
    "sys.exit(0 if len(os.listdir(d)) > 2 else 1)"
)


@pytest.fixture(scope="module", params=ARCHITECTURES)
def architecture_dir(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    return request.param, build_tiny_model(folder, architecture=request.param)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_architecture_solves_end_to_end(tmp_path, architecture_dir, backend):
    architecture, folder = architecture_dir
    seen = tmp_path / "seen"
    seen.mkdir()
    result = run_sdpo(
        *inline_solve(folder, f"{sys.executable} -c {json.dumps(THIRD_PASSES)} {seen}", backend),
        "--budget",
        6,
        "--batch",
        2,
        "--max-new-tokens",
        12,
        "--chat-template-args",
        "enable_thinking=false",  # Qwen3's switch; other templates ignore it
        "--temperature",  # sampler and trainer agree on the tempered, truncated distribution
        0.7,
        "--top-p",
        0.95,
        "--out",
        tmp_path / "run",
        "--json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["backend"] == backend and summary["attempts_to_solve"] in (3, 4)
    (update,) = summary["rounds_metrics"]
    assert update["active_attempts"] == 2 and update["tokens"] > 0
    assert update["sampler_gap"] < PARITY_TOLERANCE
    if backend == "vllm":
        assert update["sync_load_s"] > 0
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").exists(), architecture


# 64 seeded prompts of 100 tokens are more than one 4,096-token engine step: with chunked
# prefill vLLM split one of them over two steps and rewound its CPU generator, which has
# no offset ("CPU Generator does not use offset").
POOL_OF_LONG_PROMPTS = """
import sys
from sdpo_cli.backends.vllm import VLLMSampler
from sdpo_cli.config import ModelArgs, SamplingConfig
sampler = VLLMSampler(sys.argv[1], dtype="float32", seed=0, parity_ids=None,
                      model_args=ModelArgs(max_model_len=512))
prompts = [[(7 * i + j) % 90 + 5 for j in range(100)] for i in range(64)]
done = sampler.sample_each(prompts, SamplingConfig(top_p=0.9, max_new_tokens=2), seed=1)
print(len(done))
"""


@pytest.mark.skipif("vllm" not in BACKENDS, reason="vLLM is not installed")
def test_vllm_samples_a_pool_of_seeded_prompts_longer_than_an_engine_step(tmp_path):
    folder = build_tiny_model(tmp_path, architecture="llama")
    result = subprocess.run(
        [sys.executable, "-c", POOL_OF_LONG_PROMPTS, str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "64"
