"""What `sdpo doctor` reports, as data: Python, torch and device (each GPU's memory, the
CUDA version), which backends import and vLLM's platform, the shared-memory size, whether
the hub is off, the embedded model (installed, cached), and what the sandbox enforces."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from typing import Any

GIB = 1024**3


def _module_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    for dist in (name, f"{name}-cpu"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def backend_status() -> dict[str, dict[str, Any]]:
    """Import each backend for real (an installed but broken vLLM shows as failing)."""
    status = {}
    for name, module in (("hf", "transformers"), ("vllm", "vllm")):
        if importlib.util.find_spec(module) is None:
            status[name] = {"ok": False, "detail": "not installed"}
            continue
        try:
            __import__(module)
            status[name] = {"ok": True, "detail": _module_version(module) or "installed"}
        except Exception as exc:  # report, don't crash: this is a diagnosis
            status[name] = {
                "ok": False,
                "detail": f"import fails: {type(exc).__name__}: {str(exc)[:120]}",
            }
    return status


def gpu_status(torch) -> list[dict[str, Any]]:
    """Each visible GPU: its name and memory (total, free now)."""
    gpus = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append(
            {
                "name": torch.cuda.get_device_name(index),
                "total_gib": round(total / GIB, 1),
                "free_gib": round(free / GIB, 1),
            }
        )
    return gpus


def vllm_platform() -> str | None:
    """The platform vLLM detects here (cpu, cuda, rocm...), or None without vLLM."""
    if importlib.util.find_spec("vllm") is None:
        return None
    try:
        from vllm.platforms import current_platform

        return str(current_platform.device_type)
    except Exception as exc:  # report, don't crash: this is a diagnosis
        return f"unknown ({type(exc).__name__})"


def shared_memory_gib() -> float | None:
    """Size of /dev/shm, where vLLM's processes and Ray pass data (64 MiB by default in a
    container, which multi-process runs outgrow)."""
    try:
        return round(shutil.disk_usage("/dev/shm").total / GIB, 2)
    except OSError:
        return None


def offline() -> dict[str, bool]:
    """Whether the hub is switched off: a hub id then loads only from the local cache."""
    flag = lambda name: os.environ.get(name, "0").lower() not in ("0", "", "false")  # noqa: E731
    return {
        "HF_HUB_OFFLINE": flag("HF_HUB_OFFLINE"),
        "TRANSFORMERS_OFFLINE": flag("TRANSFORMERS_OFFLINE"),
    }


def sandbox_status() -> dict[str, Any]:
    """The sandbox mode and its protections; mode None, with the reason and the fix, where
    no isolated mode can be set up and limits-only was not asked for."""
    from .errors import SdpoError
    from .verifiers.sandbox import PROTECTIONS, isolation

    try:
        mode = isolation()
    except SdpoError as exc:
        return {"mode": None, "protections": [], "error": exc.what, "hint": exc.hint}
    return {"mode": mode, "protections": PROTECTIONS[mode]}


def diagnose() -> dict[str, Any]:
    from .backends.registry import resolve_backend
    from .hardware import choose_dtype, cpu_flags, shown_flags
    from .models import DEFAULT_MODEL, cached_embedded, embedded_gguf

    report: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    try:
        import torch

        report["torch"] = torch.__version__
        report["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        report["threads"] = torch.get_num_threads()
        report["cuda"] = torch.version.cuda if torch.cuda.is_available() else None
        report["gpus"] = gpu_status(torch) if torch.cuda.is_available() else []
    except ImportError:
        report["torch"], report["device"], report["cuda"], report["gpus"] = None, None, None, []
    flags = cpu_flags()
    device = "cpu" if report["device"] in (None, "cpu") else "cuda"
    dtype, why = choose_dtype("auto", device, flags)
    report["cpu"] = {"flags": shown_flags(flags), "dtype": dtype, "why": why}
    report["backends"] = backend_status()
    report["default_backend"] = resolve_backend("auto")
    report["vllm_platform"] = vllm_platform() if report["backends"]["vllm"]["ok"] else None
    report["shm_gib"] = shared_memory_gib()
    report["offline"] = offline()
    gguf = embedded_gguf()
    cached = cached_embedded()
    report["model"] = {
        "name": DEFAULT_MODEL,
        "gguf": str(gguf) if gguf else None,
        "cached": (cached / "model.safetensors").exists(),
        "cache_path": str(cached),
    }
    report["sandbox"] = sandbox_status()
    report["ok"] = (
        bool(report["torch"])
        and gguf is not None
        and report["backends"]["hf"]["ok"]
        and report["sandbox"]["mode"] is not None
    )
    return report
