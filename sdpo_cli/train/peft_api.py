"""Every use of peft beyond its documented model-level API, in one place.

sdpo reaches into peft's LoRA layers: it merges the student adapter into the base
weights itself (train/merged.py), replaces peft's Linear layer by a fused one
(train/lora_linear.py), resets adapters between jobs, and runs LoRA branches in the
weights' dtype. Those are peft internals, which a peft release may change. Each is named
here, and tests/test_peft_api.py checks them against the installed peft, so that such a
change fails there, by name, rather than deep inside a run.
"""

from __future__ import annotations

from typing import Iterator

import torch
from peft.helpers import disable_input_dtype_casting
from peft.tuners.lora import LoraLayer
from peft.tuners.lora.layer import Linear as LoraLinear

__all__ = [
    "LAYER_ATTRIBUTES",
    "LoraLinear",
    "disable_input_dtype_casting",
    "factors",
    "lora_layers",
    "register_linear",
    "reset_adapter",
]

# what sdpo reads on a LoRA layer
LAYER_ATTRIBUTES = (
    "base_layer",
    "lora_A",
    "lora_B",
    "scaling",
    "fan_in_fan_out",
    "lora_dropout",
    "lora_variant",
    "active_adapters",
    "disable_adapters",
    "merged",
)


def register_linear(config, layer_class: type) -> None:
    """Make `config` wrap every adapted torch Linear in `layer_class` (peft's private
    custom-module hook)."""
    config._register_custom_module({torch.nn.Linear: layer_class})


def lora_layers(model) -> Iterator[tuple[str, LoraLayer]]:
    """(checkpoint weight name, LoRA layer) for every adapted linear layer."""
    for name, module in model.named_modules():
        if isinstance(module, LoraLayer) and hasattr(module, "base_layer"):
            yield name.removeprefix("base_model.model.") + ".weight", module


def factors(module: LoraLayer, adapter: str) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(A, B, scale) of `adapter` on a LoRA layer: its update is scale * B A."""
    return module.lora_A[adapter].weight, module.lora_B[adapter].weight, module.scaling[adapter]


@torch.no_grad()
def reset_adapter(model, adapter: str) -> None:
    """Fresh factors for `adapter` on every layer (A random, B zero) from torch's RNG."""
    for module in model.modules():
        if isinstance(module, LoraLayer) and adapter in module.lora_A:
            module.reset_lora_parameters(adapter, True)
