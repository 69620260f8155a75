"""Sampler backends by name through the entry-point group `sdpo.backends` (built-ins
register there too); `auto` picks vllm when it imports, else hf."""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points

from ..errors import UsageError

GROUP = "sdpo.backends"


def backend_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def resolve_backend(name: str) -> str:
    if name == "auto":
        return "vllm" if importlib.util.find_spec("vllm") is not None else "hf"
    if name not in backend_names():
        raise UsageError(
            f"unknown backend {name!r}", hint=f"use auto, {', '.join(backend_names())}"
        )
    return name


def build_sampler(
    name: str, policy, model_path: str, seed: int, parity_ids: list[int] | None = None
):
    """The sampler for a resolved backend name, through its class's `from_policy`."""
    entry = {ep.name: ep for ep in entry_points(group=GROUP)}[name]
    return entry.load().from_policy(policy, model_path, seed, parity_ids)
