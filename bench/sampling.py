"""Sampling throughput of each backend and weights' dtype, side by side in one run.

Tokens/s of the hf and vllm samplers at batch 1, 8 and 16 with up to 256 new tokens on
the default model, in bfloat16 and float32, through the same sampler API that `sdpo
solve` uses (attempts that stop early count only the tokens they produced). Also: the
CPU's flags (bf16 is native only with AVX-512 BF16, AMX or Arm BF16), vLLM start-up
time, and a physical reference: the decode bound = batch x memory bandwidth / weight
bytes per step (for each dtype's weight bytes).

Backend `vllm` is sdpo's sampler, whose engine runs in sdpo's process; `vllm-separate`
is the same engine in vLLM's default layout, its engine core in a process of its own,
for comparison (sampling only: sdpo's in-memory weight sync needs the engine in-process).

    python bench/sampling.py [--batches 1,8,16] [--tokens 256] [--repeats 2]
                             [--dtypes bfloat16,float32] [--backends hf,vllm,vllm-separate]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch


def bandwidth_gbs(megabytes: int = 512, repeats: int = 5) -> float:
    """Measured memory bandwidth (read + write of a copy), GB/s."""
    src = torch.empty(megabytes << 18, dtype=torch.float32).fill_(1.0)
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.numel() * 4 / best / 1e9


def step_profile(policy, batch: int, repeats: int = 20) -> dict:
    """What one decode step at `batch` costs in its two vocabulary- and weight-sized parts,
    measured apart from any engine: every linear layer of the model as one matrix product
    (the compute floor of a step; attention over the cache comes on top), and drawing a
    token from the full-vocabulary distribution."""
    import torch.nn.functional as F

    weights = [  # the model's own linear layers, not the adapters' factors
        module.weight
        for name, module in policy.model.get_base_model().named_modules()
        if isinstance(module, torch.nn.Linear) and "lora_" not in name
    ]
    lm_head = policy.model.get_base_model().get_output_embeddings().weight
    dtype = lm_head.dtype

    def linears() -> None:
        for weight in weights:
            F.linear(torch.ones(batch, weight.shape[1], dtype=dtype), weight)

    logits = torch.randn(batch, lm_head.shape[0])

    def draw() -> None:
        torch.multinomial(torch.softmax(logits, -1), 1)

    timings = {}
    with torch.no_grad():
        for name, work in (("linear_ms", linears), ("sample_ms", draw)):
            work()
            start = time.perf_counter()
            for _ in range(repeats):
                work()
            timings[name] = round((time.perf_counter() - start) / repeats * 1000, 2)
    timings["linear_bound_tok_s"] = round(batch / timings["linear_ms"] * 1000)
    return timings


def measure(sampler, prompt, batch, params, repeats):
    rates = []
    for r in range(repeats):
        start = time.perf_counter()
        completions = sampler.sample(prompt, batch, params, seed=100 + r)
        seconds = time.perf_counter() - start
        rates.append(sum(len(c.token_ids) for c in completions) / seconds)
    return max(rates), sum(rates) / len(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", default="1,8,16")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backends", default="hf,vllm")
    parser.add_argument("--dtypes", default="bfloat16,float32")
    args = parser.parse_args()
    from sdpo_cli.hardware import choose_dtype, cpu_flags, shown_flags

    flags = cpu_flags()
    batches = [int(b) for b in args.batches.split(",")]
    bandwidth = bandwidth_gbs()
    results = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpu_flags": shown_flags(flags),
            "auto_dtype": choose_dtype("auto", "cpu", flags),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "bandwidth_gbs": round(bandwidth, 1),
        },
        "tokens": args.tokens,
        "dtypes": {},
    }
    for dtype in args.dtypes.split(","):
        results["dtypes"][dtype] = measure_dtype(dtype, args, batches, bandwidth)
    print(f"cpu flags: {' '.join(results['machine']['cpu_flags'])}")
    names = args.backends.split(",")
    print(f"{'dtype':>9} {'batch':>5} " + " ".join(f"{n:>14}" for n in names) + "  decode bound")
    for dtype, found in results["dtypes"].items():
        for batch in batches:
            rates = [found["backends"].get(n, {}).get(batch, {}).get("mean") for n in names]
            bound = batch * bandwidth * 1e9 / (found["weight_mb"] * 1e6)
            cells = " ".join(f"{rate or '-':>14}" for rate in rates)
            print(f"{dtype:>9} {batch:>5} {cells} {bound:>13.0f}")
        starts = ", ".join(f"{n} {found.get(n + '_startup_s')} s" for n in names)
        print(f"{dtype:>9} start-up: {starts}")
        for batch, profile in found["step_profile"].items():
            print(
                f"{dtype:>9} batch {batch}: linear layers {profile['linear_ms']} ms/step "
                f"(bound {profile['linear_bound_tok_s']} tok/s), "
                f"full-vocabulary draw {profile['sample_ms']} ms/step"
            )
    print(json.dumps(results, indent=1))


def separate_process_vllm(model_path: str, dtype: str):
    """vLLM with its engine core in a process of its own (vLLM's default), sampling
    through sdpo's sampler code: the engine is built as VLLMSampler builds it but for
    that one setting."""
    from vllm import LLM
    from vllm.envs import disable_envs_cache

    from sdpo_cli.backends.vllm import VLLMSampler, engine_environment

    engine_environment(on_gpu=False)
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "1"
    disable_envs_cache()  # an in-process engine before this one cached the setting
    sampler = object.__new__(VLLMSampler)
    sampler.llm = LLM(model_path, dtype=dtype, seed=0, max_model_len=4096, enforce_eager=True)
    return sampler


def measure_dtype(dtype: str, args, batches: list[int], bandwidth: float) -> dict:
    """Every backend's tokens/s with the weights in `dtype`, one sampler at a time."""
    from sdpo_cli.backends.hf import HFSampler
    from sdpo_cli.backends.vllm import VLLMSampler
    from sdpo_cli.config import SamplingConfig, TrainConfig
    from sdpo_cli.models import resolve_model
    from sdpo_cli.train.policy import Policy

    source = resolve_model()
    policy = Policy(str(source.path), TrainConfig(dtype=dtype))
    prompt = policy.chat_ids(
        [
            {
                "role": "user",
                "content": "Write a Python function that returns the n-th "
                "Fibonacci number, and explain how it works step by step.",
            }
        ]
    )
    params = SamplingConfig(max_new_tokens=args.tokens)
    weight_bytes = sum(
        p.numel() * p.element_size() for p in policy.model.get_base_model().parameters()
    )
    found = {"weight_mb": round(weight_bytes / 1e6), "backends": {}}
    found["step_profile"] = {batch: step_profile(policy, batch) for batch in batches}
    for name in args.backends.split(","):
        start = time.perf_counter()
        if name == "hf":
            sampler = HFSampler(policy)
        elif name == "vllm":
            sampler = VLLMSampler(str(source.path), dtype=dtype)
        else:
            sampler = separate_process_vllm(str(source.path), dtype)
        found[f"{name}_startup_s"] = round(time.perf_counter() - start, 1)
        try:
            sampler.sample(prompt, 2, SamplingConfig(max_new_tokens=16), seed=0)  # warm-up
            found["backends"][name] = {}
            for batch in batches:
                best, mean = measure(sampler, prompt, batch, params, args.repeats)
                found["backends"][name][batch] = {"best": round(best, 1), "mean": round(mean, 1)}
        finally:
            sampler.close()
    return found


if __name__ == "__main__":
    main()
