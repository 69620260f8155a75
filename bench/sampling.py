"""Sampling throughput of each backend, side by side in one run (issue: model layer).

Tokens/s of the hf and vllm samplers at batch 1, 8 and 16 with up to 256 new tokens on
the default model, through the same sampler API that `sdpo solve` uses (attempts that
stop early count only the tokens they produced). Also: vLLM start-up time, and a
physical reference: the decode bound = batch x memory bandwidth / weight bytes per step.

    python bench/sampling.py [--batches 1,8,16] [--tokens 256] [--repeats 2]
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
    args = parser.parse_args()
    from sdpo_cli.backends.hf import HFSampler
    from sdpo_cli.backends.vllm import VLLMSampler
    from sdpo_cli.config import SamplingConfig, TrainConfig
    from sdpo_cli.models import resolve_model
    from sdpo_cli.train.policy import Policy

    source = resolve_model()
    policy = Policy(str(source.path), TrainConfig())
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
    batches = [int(b) for b in args.batches.split(",")]
    weight_bytes = sum(
        p.numel() * p.element_size() for p in policy.model.get_base_model().parameters()
    )
    bandwidth = bandwidth_gbs()
    results = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "bandwidth_gbs": round(bandwidth, 1),
        },
        "weight_mb": round(weight_bytes / 1e6),
        "tokens": args.tokens,
        "backends": {},
    }
    samplers = {}
    if "hf" in args.backends:
        samplers["hf"] = HFSampler(policy)
    if "vllm" in args.backends:
        start = time.perf_counter()
        samplers["vllm"] = VLLMSampler(str(source.path))
        results["vllm_startup_s"] = round(time.perf_counter() - start, 1)
    for name, sampler in samplers.items():
        sampler.sample(prompt, 2, SamplingConfig(max_new_tokens=16), seed=0)  # warm-up
        results["backends"][name] = {}
        for batch in batches:
            best, mean = measure(sampler, prompt, batch, params, args.repeats)
            results["backends"][name][batch] = {"best": round(best, 1), "mean": round(mean, 1)}
    print(f"{'batch':>5} {'hf tok/s':>10} {'vllm tok/s':>11} {'vllm/hf':>8} {'decode bound':>13}")
    for batch in batches:
        hf = results["backends"].get("hf", {}).get(batch, {}).get("mean")
        vl = results["backends"].get("vllm", {}).get(batch, {}).get("mean")
        bound = batch * bandwidth * 1e9 / weight_bytes
        ratio = f"{vl / hf:.2f}" if hf and vl else "-"
        print(f"{batch:>5} {hf or '-':>10} {vl or '-':>11} {ratio:>8} {bound:>13.0f}")
    print(json.dumps(results, indent=1))
    for sampler in samplers.values():
        sampler.close()


if __name__ == "__main__":
    main()
