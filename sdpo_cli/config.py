"""Frozen settings of a run. Paper defaults cite the paper (Hübotter et al. 2026, Table 12);
LoRA settings are ours (the paper fine-tunes all weights) and documented in the README."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

TEACHERS = ("ema", "trust-region", "frozen", "live")


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 1.0
    """Sampling temperature (paper §5: 1.0)."""
    top_p: float = 1.0
    """Nucleus sampling; 1.0 samples the full distribution as RL needs (no top-k either)."""
    max_new_tokens: int = 384
    """Longest attempt; a longer one is cut and marked truncated."""


@dataclass(frozen=True)
class TrainConfig:
    alpha: float = 1.0
    """Divergence: 0 forward KL, 1 reverse KL (test-time setting, §1), between: JSD."""
    topk: int = 20
    """Student top-K support plus a tail bucket (§1: K = 20); 0 = full vocabulary."""
    teacher: str = "ema"
    """Teacher regularisation: ema | trust-region | frozen | live (§1)."""
    teacher_rate: float = 0.01
    """EMA rate r, or the trust-region interpolation weight (§1: 0.01)."""
    learning_rate: float = 1e-3
    """AdamW learning rate for the LoRA adapter. The paper's 1e-6 is for full fine-tuning.
    Measured on the embedded model (bench/learning_rate.py): after 3 updates 1e-4 moved
    the policy 0.003-0.006 nat/token, far below the sampler's bf16 noise (0.05-0.08), 3e-4
    0.02; 1e-3 moved it 0.07 with the loss falling at every update (README, 'Defaults')."""
    weight_decay: float = 0.01
    """AdamW weight decay (§4 Table 12)."""
    grad_clip: float = 1.0
    """Gradient-norm clip (Table 12)."""
    is_clip: float = 2.0
    """Upper clip of the per-token importance weight (§1)."""
    lora_rank: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (scale = alpha / rank)."""
    lora_targets: tuple[str, ...] = ("all-linear",)
    """Modules that get LoRA; "all-linear" = every linear layer but the output head."""
    dtype: str = "bfloat16"
    """Weights' dtype for training and sampling."""
    micro_batch: int = 8
    """Attempts per forward/backward pass, packed into one sequence without padding
    (gradients accumulate over the round's passes). 8 measured fastest on the 2-core CPU
    (one 8-attempt update, means of 4 interleaved: 8 -> 5.8 s, 4 -> 6.2 s, and 7.3 s for
    the padded micro-batches of 2 before packing; bench/RESULTS.md); memory grows with it
    (the logits of a pass are tokens x vocabulary in fp32)."""
    teacher_prompt_tokens: int = 2048
    """Cap on the teacher prompt in tokens; the feedback is cut first (§2)."""
    seed: int = 0
    """Seed of the training-side random state."""


@dataclass(frozen=True)
class SolveConfig:
    budget: int = 64
    """Attempts to spend at most."""
    batch: int = 8
    """Attempts per round. The paper uses 16; 8 is our CPU default (README, 'Defaults')."""
    seed: int = 0
    """Seed of sampling; with the same seed a run repeats (on the same backend and machine)."""
    model: str = "smollm2-135m"
    """Embedded model name, local folder or hub id."""
    backend: str = "auto"
    """Sampler: auto | vllm | hf (| scripted in tests)."""
    confirm: int = 0
    """After a discovery, sample this many more attempts and report their pass rate."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SolveConfig":
        data = dict(data)
        sampling = SamplingConfig(**data.pop("sampling", {}))
        train = data.pop("train", {})
        train = TrainConfig(
            **{**train, "lora_targets": tuple(train.get("lora_targets", ("all-linear",)))}
        )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, sampling=sampling, train=train)
