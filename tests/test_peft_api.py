"""The peft internals sdpo relies on (train/peft_api.py), checked against the installed
peft: a peft release that changes one fails here, by name."""

import inspect

import pytest
import torch
from peft import LoraConfig, get_peft_model

from sdpo_cli.train.lora_linear import FusedLoraLinear
from sdpo_cli.train.peft_api import (
    LAYER_ATTRIBUTES,
    LoraLinear,
    disable_input_dtype_casting,
    factors,
    lora_layers,
    register_linear,
    reset_adapter,
)


class TwoLayers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(6, 8)
        self.down = torch.nn.Linear(8, 6)

    def forward(self, x):
        return self.down(self.up(x))


@pytest.fixture
def adapted():
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["up", "down"])
    register_linear(config, FusedLoraLinear)
    return get_peft_model(TwoLayers(), config)


def test_the_custom_linear_hook_wraps_every_adapted_layer(adapted):
    layers = dict(lora_layers(adapted))
    assert sorted(layers) == ["down.weight", "up.weight"]  # checkpoint names
    assert all(type(layer) is FusedLoraLinear for layer in layers.values())
    assert issubclass(FusedLoraLinear, LoraLinear)


@pytest.mark.parametrize("attribute", LAYER_ATTRIBUTES)
def test_each_layer_attribute_sdpo_reads_exists(adapted, attribute):
    for _, layer in lora_layers(adapted):
        assert hasattr(layer, attribute), f"peft's LoRA layer has no {attribute!r} any more"


def test_factors_are_a_b_and_the_scale(adapted):
    for _, layer in lora_layers(adapted):
        a, b, scale = factors(layer, "default")
        base = layer.base_layer.weight
        assert a.shape == (4, base.shape[1]) and b.shape == (base.shape[0], 4)
        assert scale == 8 / 4 and not layer.fan_in_fan_out
        with torch.no_grad():
            b.normal_()
        assert torch.allclose(layer.get_delta_weight("default"), scale * b @ a, atol=1e-6)


def test_reset_gives_a_fresh_identity_adapter(adapted):
    (_, layer), _ = lora_layers(adapted)
    a, b, _ = factors(layer, "default")
    with torch.no_grad():
        b.normal_()
    before = a.clone()
    torch.manual_seed(1)
    reset_adapter(adapted, "default")
    assert torch.count_nonzero(b) == 0 and not torch.equal(a, before)
    assert "init_lora_weights" in inspect.signature(layer.reset_lora_parameters).parameters


def test_dtype_casting_can_be_switched_off(adapted):
    with disable_input_dtype_casting(adapted):
        out = adapted(torch.ones(2, 6))
    assert out.shape == (2, 6)
