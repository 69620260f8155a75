"""Load the model once: the trainable policy and the sampler that serves it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .. import activity
from ..backends.registry import build_sampler, resolve_backend
from ..config import SolveConfig
from ..cpu_sharing import fair_threads
from ..hardware import choose_dtype, cpu_flags, shown_flags
from ..models import ModelSource, resolve_model
from ..train.allocator import keep_freed_memory
from ..train.policy import Policy

PARITY_TEXT = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # prints 5"


@dataclass
class Engine:
    source: ModelSource
    policy: Policy
    sampler: object
    backend: str
    dtype: dict[str, Any] = field(default_factory=dict)
    """The weights' dtype chosen, why, and the CPU flags it was chosen from."""

    def close(self) -> None:
        self.sampler.close()


def load_engine(config: SolveConfig, sampler=None) -> Engine:
    """Resolve the model, load the policy (LoRA + teacher) and start the sampler.
    `sampler` overrides the backend (tests pass a scripted one)."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    keep_freed_memory()  # ~20% less time per update on glibc (train/allocator.py)
    activity.phase("loading model")
    source = resolve_model(config.model, config.model_args.revision)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":  # threads for the CPUs this process may use, shared (cpu_sharing.py)
        fair_threads()
    flags = cpu_flags()
    dtype, why = choose_dtype(config.train.dtype, device, flags)
    chosen = {"dtype": dtype, "why": why, "cpu_flags": shown_flags(flags)}
    torch.manual_seed(config.train.seed)
    policy = Policy(
        str(source.path),
        replace(config.train, dtype=dtype),
        device=device,
        model_args=config.model_args,
    )
    if sampler is not None:
        return Engine(source, policy, sampler, sampler.name, chosen)
    backend = resolve_backend(config.backend)
    activity.phase("starting sampler", backend=backend)
    parity_ids = (
        policy.chat_ids([{"role": "user", "content": "Write a function that adds two numbers."}])
        + policy.tokenizer(PARITY_TEXT, add_special_tokens=False).input_ids
    )
    return Engine(
        source,
        policy,
        build_sampler(backend, policy, str(source.path), config.seed, parity_ids),
        backend,
        chosen,
    )
