"""The trained policy: a causal LM with a LoRA student adapter and a regularised teacher.

The student adapter ("default", so the saved adapter is plain PEFT format) is what the
sampler serves and what the optimizer trains. The self-teacher is the same network on
the teacher prompt, regularised as in the paper §2 (docs/method.md):
  ema           a second adapter ("teacher") holding the EMA of the student adapter's
                weights, theta' <- (1-r) theta' + r theta once per round (paper: r = 0.01).
                Departure, as the method notes allow: the EMA is of the LoRA factors A and
                B separately, which is not exactly the EMA of their product B·A.
  trust-region  logits = lerp(initial-model logits, current student logits, r).
  frozen        the initial model (adapter disabled).
  live          the current student, unregularised (diverged in the paper, Table 4).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from peft import LoraConfig, get_peft_model
from peft.helpers import disable_input_dtype_casting
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..config import TrainConfig
from .lora_linear import FusedLoraLinear

STUDENT = "default"
TEACHER = "teacher"
INITIAL = "initial"  # the base model: adapters off


@dataclass
class Batch:
    """Prompts left-padded and responses right-padded to common lengths, so that all
    response positions share the same slice of the sequence."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    response_ids: torch.Tensor  # [B, T]
    response_mask: torch.Tensor  # [B, T], 1.0 on real response tokens


def pad_responses(
    responses: list[list[int]], pad_id: int, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Responses right-padded to the longest: token ids [B, T] and a mask [B, T] that is
    1.0 on real tokens."""
    width = max(max(len(r) for r in responses), 1)
    ids = [r + [pad_id] * (width - len(r)) for r in responses]
    mask = [[1.0] * len(r) + [0.0] * (width - len(r)) for r in responses]
    return torch.tensor(ids, device=device), torch.tensor(mask, device=device)


def kept_positions(positions: list[int], device: str) -> torch.Tensor:
    """`logits_to_keep` for a model call as position indices. With an int the output head
    gets a strided slice of the hidden states, which torch's matmul does not fold into one
    matrix product: it copies the transposed head weight (49152 x 576 for the default
    model) on every call instead, about 100 ms on the CPU; the indices give a fresh tensor."""
    return torch.tensor(positions, dtype=torch.long, device=device)


def pack(prompts: list[list[int]], responses: list[list[int]], pad_id: int, device: str) -> Batch:
    width_p = max(len(p) for p in prompts)
    width_r = max(max(len(r) for r in responses), 1)
    ids, mask = [], []
    for prompt, response in zip(prompts, responses):
        left = width_p - len(prompt)
        right = width_r - len(response)
        ids.append([pad_id] * left + prompt + response + [pad_id] * right)
        mask.append([0] * left + [1] * (len(prompt) + len(response)) + [0] * right)
    attention = torch.tensor(mask, device=device)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    return Batch(
        torch.tensor(ids, device=device),
        attention,
        positions,
        *pad_responses(responses, pad_id, device),
    )


class Policy:
    def __init__(self, model_path: str, config: TrainConfig, device: str = "cpu"):
        self.config = config
        self.device = device
        dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}[
            config.dtype
        ]
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        base = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device)
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=0.0,
            target_modules=list(config.lora_targets)
            if config.lora_targets != ("all-linear",)
            else "all-linear",
        )
        lora._register_custom_module(
            {torch.nn.Linear: FusedLoraLinear}
        )  # peft's layer, one autograd node
        self.model = get_peft_model(base, lora, adapter_name=STUDENT)
        if config.teacher == "ema":
            self.model.add_adapter(TEACHER, lora)
            self._copy_adapter(STUDENT, TEACHER)
        self.model.set_adapter(STUDENT)
        self.pad_id = (
            self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else self.tokenizer.eos_token_id
        )
        self.version = 0

    # -- prompts ------------------------------------------------------------------
    def chat_ids(self, messages: list[dict[str, str]]) -> list[int]:
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True
        )
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    # -- forward passes -----------------------------------------------------------
    def forward(self, **inputs):
        """One pass of the model under the active adapter. With bf16 (or fp16) weights the
        fp32 LoRA factors run in that dtype under autocast, the usual mixed precision,
        instead of peft's default of casting every activation entering a LoRA branch to
        fp32 and back: 25% less time per SDPO update on the 2-core CPU (bench/RESULTS.md).
        The factors, their gradients and the optimizer state stay fp32."""
        dtype = self.model.get_base_model().dtype
        if dtype == torch.float32:
            return self.model(**inputs)
        with (
            torch.autocast(device_type=torch.device(self.device).type, dtype=dtype),
            disable_input_dtype_casting(self.model),
        ):
            return self.model(**inputs)

    def response_logits(self, batch: Batch) -> torch.Tensor:
        """Logits [B, T, V] that predict each response token, under the active adapter."""
        width_r = batch.response_ids.shape[1]
        # Logits for every position, sliced afterwards: with `logits_to_keep` the output head
        # gets a strided slice, which torch's matmul does not fold into one matrix product;
        # it copies the transposed head weight (49152 x 576 for the default model) on every
        # call instead, a 0.17 s detour against the 0.02 s that the prompt's extra logits cost.
        out = self.forward(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            position_ids=batch.position_ids,
            use_cache=False,
        )
        return out.logits[:, -width_r - 1 : -1, :]

    @torch.no_grad()
    def mean_logprobs(
        self, prompts: list[list[int]], responses: list[list[int]], micro_batch: int = 4
    ) -> list[float]:
        """Mean per-token log-prob of each response given its prompt, under the student."""
        means = []
        for start in range(0, len(prompts), micro_batch):
            batch = pack(
                prompts[start : start + micro_batch],
                responses[start : start + micro_batch],
                self.pad_id,
                self.device,
            )
            logp = torch.log_softmax(self.response_logits(batch).float(), -1)
            token = (
                logp.gather(-1, batch.response_ids.unsqueeze(-1)).squeeze(-1) * batch.response_mask
            )
            means += (token.sum(-1) / batch.response_mask.sum(-1).clamp(min=1)).tolist()
        return means

    # -- the teacher ------------------------------------------------------------------
    def teacher_views(self) -> tuple[str, ...]:
        """The weights the teacher's logits come from (`adapter` names), in the order
        `combine_teacher` takes them."""
        return {
            "ema": (TEACHER,),
            "live": (STUDENT,),
            "frozen": (INITIAL,),
            "trust-region": (INITIAL, STUDENT),
        }[self.config.teacher]

    def combine_teacher(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The teacher's logits from those of its views (trust-region: lerp from the
        initial model's towards the current student's by the teacher rate)."""
        if self.config.teacher == "trust-region":
            return torch.lerp(logits[0].float(), logits[1].float(), self.config.teacher_rate)
        return logits[0]

    @contextmanager
    def adapter(self, name: str):
        """Forward passes inside run under `name`: the student adapter, the EMA teacher
        adapter, or the initial model (adapters off)."""
        if name == INITIAL:
            with self.model.disable_adapter():
                yield
        elif name == TEACHER:
            self.model.set_adapter(TEACHER)
            try:
                yield
            finally:
                self.model.set_adapter(STUDENT)
        else:
            yield

    @torch.no_grad()
    def reset(self, seed: int) -> None:
        """Fresh adapters (LoRA A random under `seed`, B zero: the initial model) and
        teacher, for the next independent job on an already loaded model."""
        from peft.tuners.lora import LoraLayer

        torch.manual_seed(seed)
        for module in self.model.modules():
            if isinstance(module, LoraLayer) and STUDENT in module.lora_A:
                module.reset_lora_parameters(STUDENT, True)
        if self.config.teacher == "ema":
            self._copy_adapter(STUDENT, TEACHER)
        self.version = 0

    # -- parameters ---------------------------------------------------------------
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for n, p in self.model.named_parameters() if f".{STUDENT}." in n and "lora_" in n]

    def _adapter_params(self, adapter: str) -> dict[str, torch.nn.Parameter]:
        return {
            n.replace(f".{adapter}.", "."): p
            for n, p in self.model.named_parameters()
            if f".{adapter}." in n and "lora_" in n
        }

    @torch.no_grad()
    def _copy_adapter(self, source: str, target: str) -> None:
        targets = self._adapter_params(target)
        for name, param in self._adapter_params(source).items():
            targets[name].copy_(param)

    @torch.no_grad()
    def update_teacher(self) -> None:
        """EMA step theta' <- (1-r) theta' + r theta (only for the ema teacher)."""
        if self.config.teacher != "ema":
            return
        students = self._adapter_params(STUDENT)
        for name, teacher in self._adapter_params(TEACHER).items():
            teacher.lerp_(students[name].to(teacher.dtype), self.config.teacher_rate)

    def adapter_state(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.model.named_parameters() if "lora_" in n}

    @torch.no_grad()
    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        params = dict(self.model.named_parameters())
        for name, value in state.items():
            params[name].copy_(value)

    def _lora_layers(self):
        """(checkpoint weight name, LoRA-wrapped layer) for every adapted linear layer."""
        for name, module in self.model.named_modules():
            if hasattr(module, "get_delta_weight") and hasattr(module, "base_layer"):
                yield name.removeprefix("base_model.model.") + ".weight", module

    @staticmethod
    def _merged(module, adapter: str) -> torch.Tensor:
        """W + scale * B A in fp32, rounded once to the weight's dtype: one fused product
        and sum (the same values as peft's delta weight added in fp32, in about half the
        time: the sampler's weight sync does this for every adapted layer each round)."""
        weight = module.base_layer.weight
        lora_a, lora_b = (
            module.lora_A[adapter].weight.float(),
            module.lora_B[adapter].weight.float(),
        )
        if module.fan_in_fan_out:  # weight stored [in, out] (GPT-2's Conv1D)
            merged = torch.addmm(
                weight.float(), lora_a.t(), lora_b.t(), alpha=module.scaling[adapter]
            )
        else:
            merged = torch.addmm(weight.float(), lora_b, lora_a, alpha=module.scaling[adapter])
        return merged.to(weight.dtype)

    @torch.no_grad()
    def merged_weights(self) -> dict[str, torch.Tensor]:
        """Base weights with the student adapter merged in, named as in the checkpoint
        (for in-place weight reload of the sampler). The model itself is not modified."""
        merged = {key: self._merged(module, STUDENT) for key, module in self._lora_layers()}
        for name, param in self.model.get_base_model().named_parameters():
            if "lora_" not in name and ".base_layer." not in name:
                merged[name] = param.detach()
        return {k: v.contiguous() for k, v in merged.items()}

    @contextmanager
    def merged(self, adapter: str = STUDENT):
        """No-grad forward passes through `adapter` merged into the base weights, with the
        LoRA branches off: the same function at the cost of the plain model (the LoRA
        branches cost 25-50% more per forward on CPU, bench/RESULTS.md). The merged
        weights are new tensors in the model's dtype (bf16 rounds small adapter updates
        exactly as the vLLM sampler's merged weights do); the base weights are put back
        untouched on exit."""
        originals = []
        with torch.no_grad():
            try:
                for _, module in self._lora_layers():
                    originals.append((module.base_layer.weight, module.base_layer.weight.data))
                    module.base_layer.weight.data = self._merged(module, adapter)
                with self.model.disable_adapter():
                    yield self.model
            finally:
                for weight, data in originals:
                    weight.data = data

    def save_adapter(self, directory: str) -> None:
        """The student adapter in PEFT format (loadable by peft and by vLLM)."""
        self.model.save_pretrained(directory, selected_adapters=[STUDENT])
