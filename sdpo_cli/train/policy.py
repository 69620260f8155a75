"""The trained policy: a causal LM with a LoRA student adapter and, for the EMA teacher,
a second adapter (train/teacher.py says which weights the teacher uses).

The student adapter ("default", so the saved adapter is plain PEFT format) is what the
sampler serves and what the optimizer trains. This module loads the model, applies chat
templates, runs forward passes under a chosen adapter, and keeps adapter state
(reset, checkpoint, save). Merged weights for the samplers are in train/merged.py.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..config import ModelArgs, TrainConfig
from ..hardware import choose_dtype, cpu_flags
from .lora_linear import FusedLoraLinear
from .peft_api import disable_input_dtype_casting, register_linear, reset_adapter

STUDENT = "default"
TEACHER = "teacher"
INITIAL = "initial"  # the base model: adapters off


def kept_positions(positions: list[int], device: str) -> torch.Tensor:
    """`logits_to_keep` for a model call as position indices. With an int the output head
    gets a strided slice of the hidden states, which torch's matmul does not fold into one
    matrix product: it copies the transposed head weight (49152 x 576 for the default
    model) on every call instead, about 100 ms on the CPU; the indices give a fresh tensor."""
    return torch.tensor(positions, dtype=torch.long, device=device)


class Policy:
    def __init__(
        self,
        model_path: str,
        config: TrainConfig,
        device: str = "cpu",
        model_args: ModelArgs | None = None,
    ):
        """`model_args`: how to load the model (trust_remote_code) and fill its chat
        template (chat_template_args); the samplers read the rest from here."""
        self.model_args = model_args or ModelArgs()
        if config.dtype == "auto":  # hardware.py: bf16 only where it is computed natively
            config = replace(config, dtype=choose_dtype("auto", device, cpu_flags())[0])
        self.config = config
        self.device = device
        dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}[
            config.dtype
        ]
        remote = self.model_args.trust_remote_code
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=remote)
        base = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=dtype, trust_remote_code=remote
        ).to(device)
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=0.0,
            target_modules=list(config.lora_targets)
            if config.lora_targets != ("all-linear",)
            else "all-linear",
        )
        register_linear(lora, FusedLoraLinear)  # peft's layer, one autograd node
        self.model = get_peft_model(base, lora, adapter_name=STUDENT)
        # the EMA teacher's adapter exists whatever the teacher: runs on one loaded policy
        # (a compare's jobs) may use different teachers
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
            messages,
            add_generation_prompt=True,
            tokenize=True,
            **self.model_args.chat_template_args,
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

    # -- adapters ---------------------------------------------------------------------
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
        torch.manual_seed(seed)
        reset_adapter(self.model, STUDENT)
        self._copy_adapter(STUDENT, TEACHER)
        self.version = 0

    # -- parameters ---------------------------------------------------------------
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for n, p in self.model.named_parameters() if f".{STUDENT}." in n and "lora_" in n]

    def adapter_params(self, adapter: str) -> dict[str, torch.nn.Parameter]:
        return {
            n.replace(f".{adapter}.", "."): p
            for n, p in self.model.named_parameters()
            if f".{adapter}." in n and "lora_" in n
        }

    @torch.no_grad()
    def _copy_adapter(self, source: str, target: str) -> None:
        targets = self.adapter_params(target)
        for name, param in self.adapter_params(source).items():
            targets[name].copy_(param)

    def adapter_state(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.model.named_parameters() if "lora_" in n}

    @torch.no_grad()
    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        params = dict(self.model.named_parameters())
        for name, value in state.items():
            params[name].copy_(value)

    def save_adapter(self, directory: str) -> None:
        """The student adapter in PEFT format (loadable by peft and by vLLM)."""
        self.model.save_pretrained(directory, selected_adapters=[STUDENT])
