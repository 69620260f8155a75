"""Sampling throughput of each backend and weights' dtype, side by side in one run.

Tokens/s of the hf and vllm samplers at batch 1, 8 and 16 with up to 256 new tokens on
the default model, in bfloat16 and float32, through the same sampler API that `sdpo
solve` uses (attempts that stop early count only the tokens they produced). Also: the
CPU's flags (bf16 is native only with AVX-512 BF16, AMX or Arm BF16), vLLM start-up
time, and a physical reference: the decode bound = batch x memory bandwidth / weight
bytes per step (for each dtype's weight bytes).

    python bench/sampling.py [--batches 1,8,16] [--tokens 256] [--repeats 2]
                             [--dtypes bfloat16,float32] [--backends hf,vllm]
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
    print(f"{'dtype':>9} {'batch':>5} {'hf tok/s':>10} {'vllm tok/s':>11} {'decode bound':>13}")
    for dtype, found in results["dtypes"].items():
        for batch in batches:
            hf = found["backends"].get("hf", {}).get(batch, {}).get("mean")
            vl = found["backends"].get("vllm", {}).get(batch, {}).get("mean")
            bound = batch * bandwidth * 1e9 / (found["weight_mb"] * 1e6)
            print(f"{dtype:>9} {batch:>5} {hf or '-':>10} {vl or '-':>11} {bound:>13.0f}")
    print(json.dumps(results, indent=1))


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
    for name in args.backends.split(","):
        start = time.perf_counter()
        sampler = HFSampler(policy) if name == "hf" else VLLMSampler(str(source.path), dtype=dtype)
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
