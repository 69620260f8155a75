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

import platform
from pathlib import Path

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


def shown_flags(flags: set[str]) -> list[str]:
    """The flags that matter for the numeric format, to record with every figure."""
    return sorted(f for f in flags if f in SHOWN)
