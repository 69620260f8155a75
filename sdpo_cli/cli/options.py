"""Options of the commands that load a model (solve, compare, probe). Every default is
read from the config dataclasses (config.py), which also validate the values."""

from pathlib import Path
from typing import Optional

import typer

from ..config import CompareConfig, ProbeConfig, SamplingConfig, SolveConfig, TrainConfig
from .config_file import config_file_defaults

MODEL = typer.Option(
    SolveConfig.model, "--model", help="Embedded model name, local folder or hub id."
)
BACKEND = typer.Option(
    SolveConfig.backend, "--backend", help="Sampler: auto (vllm if installed, else hf), vllm, hf."
)
BUDGET = typer.Option(SolveConfig.budget, "--budget", help="Attempts to spend at most.")
BATCH = typer.Option(
    SolveConfig.batch, "--batch", help="Attempts per round (paper: 16; 8 is the CPU default)."
)
SEED = typer.Option(SolveConfig.seed, "--seed", help="Random seed (sampling and training).")
CONFIRM = typer.Option(
    SolveConfig.confirm,
    "--confirm",
    help="After a discovery, sample N more and report the pass rate.",
)
TEMPERATURE = typer.Option(
    SamplingConfig.temperature, "--temperature", help="Sampling temperature (paper: 1.0)."
)
TOP_P = typer.Option(SamplingConfig.top_p, "--top-p", help="Nucleus sampling threshold.")
MAX_NEW_TOKENS = typer.Option(
    SamplingConfig.max_new_tokens, "--max-new-tokens", help="Longest attempt in tokens."
)
ALPHA = typer.Option(
    TrainConfig.alpha, "--alpha", help="0 forward KL, 1 reverse KL (paper test-time), between: JSD."
)
TOPK = typer.Option(
    TrainConfig.topk,
    "--topk",
    help="Top-K support with a tail bucket (paper: 20); 0 = full vocabulary.",
)
TEACHER = typer.Option(
    TrainConfig.teacher, "--teacher", help="Teacher: ema, trust-region, frozen, live."
)
TEACHER_RATE = typer.Option(
    TrainConfig.teacher_rate, "--teacher-rate", help="EMA rate / trust-region weight (paper: 0.01)."
)
LEARNING_RATE = typer.Option(
    TrainConfig.learning_rate, "--lr", help="AdamW learning rate of the LoRA adapter."
)
DTYPE = typer.Option(
    TrainConfig.dtype,
    "--dtype",
    help="Weights' dtype: auto (bfloat16 where the hardware computes it, else float32), "
    "bfloat16, float32, float16.",
)
EPOCHS = typer.Option(
    TrainConfig.epochs, "--epochs", help="Optimizer steps per round over its tokens (paper: 1)."
)
CONTRAST = typer.Option(
    TrainConfig.contrast,
    "--contrast",
    help="Contrastive teacher's beta: distil only what the feedback changes (0: off).",
)
CONTRAST_GATE = typer.Option(
    TrainConfig.contrast_gate,
    "--contrast-gate",
    help="With --contrast: skip positions where the feedback moves no log-prob this much.",
)
HYBRID = typer.Option(
    TrainConfig.hybrid,
    "--hybrid",
    help="Weight of a policy gradient on the verifier's graded score, mixed with SDPO (0: off).",
)
REPEAT_WEIGHT = typer.Option(
    TrainConfig.repeat_weight,
    "--repeat-weight",
    help="Loss weight of a failure repeating one trained on before (0 skips it).",
)
FEEDBACK_ROUNDS = typer.Option(
    TrainConfig.feedback_rounds,
    "--feedback-rounds",
    help="The teacher also sees the distinct feedback of this many earlier rounds.",
)
HINT = typer.Option(
    TrainConfig.hint,
    "--hint",
    help="Feedback the teacher sees: full (paper), first (first failing test or the "
    "error), error (the verdict's first two lines).",
)
LORA_RANK = typer.Option(TrainConfig.lora_rank, "--lora-rank", help="LoRA rank.")
LORA_ALPHA = typer.Option(
    TrainConfig.lora_alpha, "--lora-alpha", help="LoRA alpha (scale = alpha / rank)."
)
LORA_TARGETS = typer.Option(
    ",".join(TrainConfig.lora_targets),
    "--lora-targets",
    help="Comma-separated module names, or all-linear.",
)
COMPARE_BUDGET = typer.Option(CompareConfig.budget, "--budget", help="Attempts per run.")
SEEDS = typer.Option(
    CompareConfig.seeds, "--seeds", help="Independent runs of each sequential method."
)
POOL = typer.Option(
    CompareConfig.pool,
    "--pool",
    help="Best-of-k pool size (0: 4x the budget); at least the budget.",
)
POOL_BATCH = typer.Option(
    CompareConfig.pool_batch, "--pool-batch", help="Attempts per sampler call while drawing a pool."
)
CONTEXT_TOKENS = typer.Option(
    CompareConfig.context_tokens,
    "--context-tokens",
    help="Multi-turn prompt budget; the oldest feedback is dropped past it.",
)
WORKERS = typer.Option(
    CompareConfig.workers,
    "--workers",
    help="Worker processes, each with its own model (1 on a 2-core machine).",
)
PROBE_SAMPLES = typer.Option(
    ProbeConfig.samples,
    "--samples",
    help="Student attempts to sample (teacher and control add as many as fail).",
)
AUTO_PROBE_SAMPLES = typer.Option(
    ProbeConfig.auto_samples,
    "--probe-samples",
    help="With --method auto: the probe's student samples.",
)
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")
MODEL_ARGS = typer.Option(
    "",
    "--model-args",
    help="How the model is loaded and served, KEY=VALUE,...: max_model_len (0 = the "
    "model's, at most 4096), gpu_memory_utilization (0 = auto), "
    "trainer_reserve_gib (0 = estimate), tensor_parallel_size (1), revision, "
    "trust_remote_code (false).",
)
CHAT_TEMPLATE_ARGS = typer.Option(
    "",
    "--chat-template-args",
    help="Variables for the model's chat template, KEY=VALUE,... (Qwen3: enable_thinking=false).",
)
CONFIG: Optional[Path] = typer.Option(
    None,
    "--config",
    is_eager=True,
    callback=config_file_defaults,
    help="TOML file of option values (keys: the flags without dashes); flags given on "
    "the command line override it.",
)
