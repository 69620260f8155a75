"""A LoRA linear layer that runs as one autograd node instead of peft's six.

peft's LoRA layer computes base(x) + lora_B(lora_A(x)) * scaling as separate operations,
each with its own node, dtype casts and temporaries: with rank-16 adapters on every
linear layer of a small model, that bookkeeping, not the arithmetic, is most of what the
adapters cost on a CPU. This layer computes the same function,
    y = x W^T + b + s (x A^T) B^T,
with the low-rank product added into the base output in place, and writes its backward
out by hand:
    dx = g W + (s g B) A,   dA = (s g B)^T x,   dB = s g^T (x A^T).
The factors stay fp32 parameters; the products run in the activations' dtype (bf16 under
Policy.forward: the same mixed precision as autocast, and the gradients measured no
further from the fp32 ones than peft's). About 12% less time per SDPO update on the
2-core machine (bench/RESULTS.md, 'Cost of an SDPO round'). Every other case (several
active adapters, dropout, DoRA and other variants, a LoRA bias, merged weights, a
mixed-adapter batch) takes peft's own forward.
"""

from __future__ import annotations

import torch

from .peft_api import LoraLinear


class LowRankLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, lora_a, lora_b, scaling: float):
        dtype = x.dtype
        weight = weight.to(dtype)  # no copy when the base layer already runs in x's dtype
        a = lora_a.to(dtype)
        b = (lora_b * scaling).to(dtype)
        rows = x.reshape(-1, x.shape[-1])
        low = rows @ a.t()
        y = rows @ weight.t()
        y.addmm_(low, b.t())
        if bias is not None:
            y += bias
        ctx.save_for_backward(rows, low, a, b, weight)
        ctx.scaling, ctx.input_shape, ctx.factor_dtype = scaling, x.shape, lora_a.dtype
        return y.view(*x.shape[:-1], y.shape[-1])

    @staticmethod
    def backward(ctx, grad_y):
        rows, low, a, b, weight = ctx.saved_tensors
        grad = grad_y.reshape(-1, grad_y.shape[-1]).to(rows.dtype)
        grad_low = grad @ b  # s g B
        grad_x = grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad @ weight).addmm_(grad_low, a).view(ctx.input_shape)
        if ctx.needs_input_grad[3]:
            grad_a = (grad_low.t() @ rows).to(ctx.factor_dtype)
        if ctx.needs_input_grad[4]:
            grad_b = (grad.t() @ low).to(ctx.factor_dtype) * ctx.scaling
        return grad_x, None, None, grad_a, grad_b, None


class FusedLoraLinear(LoraLinear):
    """peft's LoRA Linear (same parameters, state dict and saved format) with the forward
    above whenever exactly one plain adapter is active."""

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        adapter = None if args or kwargs else self._single_plain_adapter()
        if adapter is None:
            return super().forward(x, *args, **kwargs)
        base = self.get_base_layer()
        return LowRankLinear.apply(
            x,
            base.weight,
            base.bias,
            self.lora_A[adapter].weight,
            self.lora_B[adapter].weight,
            self.scaling[adapter],
        )

    def _single_plain_adapter(self) -> str | None:
        if (
            self.disable_adapters
            or self.merged
            or self.fan_in_fan_out
            or len(self.active_adapters) != 1
        ):
            return None
        name = self.active_adapters[0]
        plain = (
            name in self.lora_A
            and name not in self.lora_variant
            and self.lora_B[name].bias is None
            and isinstance(self.lora_dropout[name], torch.nn.Identity)
        )
        return name if plain else None
