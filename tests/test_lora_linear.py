"""The fused LoRA layer computes peft's function and gradients, and leaves every case it
does not cover to peft."""

import pytest
import torch
from peft.tuners.lora.layer import Linear as PeftLoraLinear
from tiny_model import adapted_policy

from sdpo_cli.train.lora_linear import FusedLoraLinear
from sdpo_cli.train.policy import STUDENT, TEACHER


def layers(policy):
    return [m for m in policy.model.modules() if isinstance(m, PeftLoraLinear)]


def output_and_grads(forward, layer, x):
    x = x.detach().requires_grad_(x.requires_grad)
    y = forward(layer, x)
    weights = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)
    params = [layer.lora_A[STUDENT].weight, layer.lora_B[STUDENT].weight]
    inputs = params + ([x] if x.requires_grad else [])
    return y.detach(), torch.autograd.grad((y * weights).sum(), inputs)


def test_every_adapted_layer_is_the_fused_one(tiny_model_dir):
    found = layers(adapted_policy(tiny_model_dir))
    assert found and all(isinstance(layer, FusedLoraLinear) for layer in found)


@pytest.mark.parametrize("input_needs_grad", [True, False])
def test_fused_layer_equals_peft_in_fp32(tiny_model_dir, input_needs_grad):
    policy = adapted_policy(tiny_model_dir)
    for layer in layers(policy)[:7]:  # one decoder layer: attention and MLP projections
        x = torch.randn(2, 5, layer.in_features, requires_grad=input_needs_grad)
        fused_y, fused_grads = output_and_grads(FusedLoraLinear.forward, layer, x)
        peft_y, peft_grads = output_and_grads(PeftLoraLinear.forward, layer, x)
        assert torch.allclose(fused_y, peft_y, atol=1e-5)
        assert len(fused_grads) == len(peft_grads) == 2 + input_needs_grad
        for fused, reference in zip(fused_grads, peft_grads):
            assert fused.dtype == reference.dtype
            assert torch.allclose(fused, reference, atol=1e-5, rtol=1e-4)


def test_fused_layer_in_bf16_stays_near_fp32(tiny_model_dir):
    """Mixed precision as in Policy.forward: bf16 activations, fp32 factors and gradients."""
    policy = adapted_policy(tiny_model_dir, dtype="bfloat16")
    layer = layers(policy)[4]
    x = torch.randn(3, 7, layer.in_features)
    y, grads = output_and_grads(FusedLoraLinear.forward, layer, x.bfloat16().requires_grad_())
    exact = x.double() @ layer.get_base_layer().weight.double().t() + layer.scaling[STUDENT] * (
        x.double()
        @ layer.lora_A[STUDENT].weight.double().t()
        @ layer.lora_B[STUDENT].weight.double().t()
    )
    assert y.dtype == torch.bfloat16 and all(g.dtype == torch.float32 for g in grads[:2])
    assert (y.double() - exact).abs().max() < 0.02 * exact.abs().max()


def test_uncovered_cases_take_peft_forward(tiny_model_dir):
    policy = adapted_policy(tiny_model_dir)
    layer = layers(policy)[0]
    assert layer._single_plain_adapter() == STUDENT
    layer.set_adapter([STUDENT, TEACHER])  # two active adapters: peft sums both branches
    assert layer._single_plain_adapter() is None
    x = torch.randn(2, 3, layer.in_features)
    assert torch.allclose(layer(x), PeftLoraLinear.forward(layer, x))
    layer.set_adapter(STUDENT)
    with policy.model.disable_adapter():
        assert layer._single_plain_adapter() is None
        assert torch.equal(layer(x), layer.get_base_layer()(x))
