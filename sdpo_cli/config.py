"""Frozen settings of a run: each field's default, its documentation and its valid range
live here, and every dataclass validates itself on construction (a UsageError naming the
option and the value, exit 2). The CLI reads its defaults from these classes
(cli/options.py) and builds them with `solve_config`, the one builder that solve,
compare and probe share. Paper defaults cite the paper (Hübotter et al. 2026, Table 12);
departures are explained in docs/method.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

from .errors import UsageError
from .reprompt import HINTS

TEACHERS = ("ema", "trust-region", "frozen", "live")
DTYPES = ("auto", "bfloat16", "float32", "float16")
POOL_FACTOR = 4
MODEL_ARG = "--model-args "
DEFAULT_MODEL_LEN = 4096
TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def setting(default: Any, rule: str, ok: Callable[[Any], bool], flag: str | None = None) -> Any:
    """A field with its default, the valid values (`ok`, described by `rule`) and its
    command-line flag when that is not --field-name."""
    return field(default=default, metadata={"rule": rule, "ok": ok, "flag": flag})


def positive(value) -> bool:
    return value > 0


def non_negative(value) -> bool:
    return value >= 0


def unit_interval(value) -> bool:
    return 0 <= value <= 1


def flag_of(owner, name: str) -> str:
    """The command-line flag of a field (`--lr` for learning_rate)."""
    meta = {f.name: f.metadata for f in fields(owner)}[name]
    return meta.get("flag") or "--" + name.replace("_", "-")


def validate(instance) -> None:
    """Check every field that declares a rule; raise UsageError on the first bad one."""
    for item in fields(instance):
        ok = item.metadata.get("ok")
        value = getattr(instance, item.name)
        if ok is None:
            continue
        try:
            valid = ok(value)
        except TypeError:
            valid = False
        if not valid:
            raise UsageError(
                f"{flag_of(instance, item.name)} = {value!r} is out of range "
                f"({item.metadata['rule']})"
            )


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = setting(1.0, "0 or more; 0 is greedy", non_negative)
    """Sampling temperature (paper §5: 1.0)."""
    top_p: float = setting(1.0, "above 0, at most 1", lambda v: 0 < v <= 1)
    """Nucleus sampling; 1.0 samples the full distribution as RL needs (no top-k either)."""
    max_new_tokens: int = setting(384, "at least 1", positive)
    """Longest attempt; a longer one is cut and marked truncated."""

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class TrainConfig:
    alpha: float = setting(1.0, "from 0 to 1", unit_interval)
    """Divergence: 0 forward KL, 1 reverse KL (test-time setting, paper §2), between: JSD."""
    topk: int = setting(20, "0 (full vocabulary) or more", non_negative)
    """Student top-K support plus a tail bucket (paper §2: K = 20); 0 = full vocabulary."""
    teacher: str = setting("ema", "one of " + ", ".join(TEACHERS), TEACHERS.__contains__)
    """Teacher regularisation: ema | trust-region | frozen | live (paper §2, Table 4)."""
    teacher_rate: float = setting(0.01, "from 0 to 1", unit_interval)
    """EMA rate r, or the trust-region interpolation weight (paper §2: 0.01)."""
    learning_rate: float = setting(1e-3, "above 0", positive, flag="--lr")
    """AdamW learning rate for the LoRA adapter. The paper's 1e-6 is for full fine-tuning;
    1e-3 moves the embedded model's policy by about the sampler's bf16 noise in 3 updates
    (bench/RESULTS.md, 'Learning rate'; docs/method.md)."""
    weight_decay: float = setting(0.01, "0 or more", non_negative)
    """AdamW weight decay (paper Table 12)."""
    epochs: int = setting(1, "at least 1", positive)
    """Optimizer steps per round, each over all of the round's tokens (the teacher's EMA
    step follows each). The paper takes one step per batch; at a small budget more steps
    let the policy, and an EMA teacher, move further between rounds (docs/method.md)."""
    grad_clip: float = setting(1.0, "above 0", positive)
    """Gradient-norm clip (paper Table 12)."""
    is_clip: float = setting(2.0, "at least 1", lambda v: v >= 1)
    """Upper clip of the per-token importance weight (paper §2)."""
    lora_rank: int = setting(16, "at least 1", positive)
    """LoRA rank."""
    lora_alpha: int = setting(32, "at least 1", positive)
    """LoRA scaling numerator (scale = alpha / rank)."""
    lora_targets: tuple[str, ...] = setting(("all-linear",), "module names", bool)
    """Modules that get LoRA; "all-linear" = every linear layer but the output head."""
    dtype: str = setting("auto", "one of " + ", ".join(DTYPES), DTYPES.__contains__)
    """Weights' dtype for training and sampling; auto: bfloat16 on a GPU or a CPU that
    computes bf16 natively, float32 on any other CPU (hardware.py)."""
    micro_batch: int = setting(8, "at least 1", positive)
    """Attempts per forward/backward pass, packed into one sequence without padding;
    gradients accumulate over a round's passes. 8 (a whole default round) measured
    fastest on the 2-core CPU (bench/RESULTS.md); memory grows with it."""
    contrast: float = setting(0.0, "0 (off) or more", non_negative)
    """beta of the contrastive teacher (0: the paper's teacher): the target is the
    student's distribution tilted by beta x what the feedback changes in the teacher,
    log q(.|x, f) - log q(.|x, control); train/loss.py contrastive_target."""
    contrast_gate: float = setting(0.0, "0 (off) or more", non_negative)
    """With --contrast: train only on positions where the feedback moves some token's
    log-prob by at least this much (nats); 0 trains on every position."""
    hybrid: float = setting(0.0, "from 0 to 1", unit_interval)
    """lambda of the graded-score hybrid: the loss is (1 - lambda) x SDPO's plus lambda x a
    policy gradient whose advantage is each attempt's verifier score (fraction of tests
    passed, closeness to the target) normalised over its round: a signal without a
    teacher, and before the first success (docs/method.md). 0: SDPO alone."""
    repeat_weight: float = setting(1.0, "from 0 to 1", unit_interval)
    """Loss weight of a failed attempt identical to one trained on before in the run
    (repeats.py); 0 skips it. 1: every attempt counts, as in the paper."""
    feedback_rounds: int = setting(0, "0 or more", non_negative)
    """The teacher also sees the distinct feedback of this many earlier rounds, before
    the attempt's own (0: its own only, as in the paper)."""
    hint: str = setting("full", "one of " + ", ".join(HINTS), HINTS.__contains__)
    """How much feedback the teacher sees: full (the paper's), first (the first failing
    test or the error), error (the verdict's first two lines); reprompt.py."""
    teacher_prompt_tokens: int = setting(2048, "at least 64", lambda v: v >= 64)
    """Cap on the teacher prompt in tokens; the feedback is cut first (paper §4)."""
    seed: int = 0
    """Seed of the training-side random state."""

    def __post_init__(self) -> None:
        validate(self)


def parse_key_values(text: str, flag: str) -> dict[str, Any]:
    """`key=value,key=value` as a dict; values typed as TOML would read them (true and
    false, integers, floats), anything else a string."""
    pairs: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag}: {item!r} is not KEY=VALUE", hint=f"{flag} key=value,...")
        pairs[key.strip().replace("-", "_")] = typed_value(value.strip())
    return pairs


def typed_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def as_field_type(owner, name: str, value: Any) -> Any:
    """`value` in the type of `owner`'s field `name` (its default's), so that a config
    file or KEY=VALUE list gives `revision=2024` as a string and `max_model_len=8192.0`
    as an error, not a float."""
    default = {f.name: f.default for f in fields(owner)}[name]
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is str and not isinstance(value, str):
        return str(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(
            f"{flag_of(owner, name)} = {value!r} is not {TYPE_NAMES[kind]}",
        )
    return value


@dataclass(frozen=True)
class ModelArgs:
    """How the model is loaded and served: `--model-args KEY=VALUE,...` (the form
    lm-evaluation-harness uses: one flag for settings that only some models and
    machines need), and `--chat-template-args KEY=VALUE,...`."""

    max_model_len: int = setting(
        0, "0 (auto) or at least 256", lambda v: v == 0 or v >= 256, MODEL_ARG + "max_model_len"
    )
    """Longest sequence the vLLM sampler serves (prompt + attempt, multi-turn context).
    0: the model's own limit, at most DEFAULT_MODEL_LEN."""
    gpu_memory_utilization: float = setting(
        0.0,
        "0 (auto) or above 0 and below 1",
        lambda v: 0 <= v < 1,
        MODEL_ARG + "gpu_memory_utilization",
    )
    """Share of the GPU's memory vLLM may take. 0: what is free once the trainer is
    loaded, less the trainer's reserve for its updates (hardware.gpu_memory_plan)."""
    trainer_reserve_gib: float = setting(
        0.0, "0 (estimate) or more", non_negative, MODEL_ARG + "trainer_reserve_gib"
    )
    """GPU memory kept free for the trainer's updates; 0 estimates it from the model's
    shape and the tokens of one training pass."""
    tensor_parallel_size: int = setting(
        1, "at least 1", positive, MODEL_ARG + "tensor_parallel_size"
    )
    """GPUs the vLLM sampler shards the model over (the trainer uses the first)."""
    revision: str = setting(
        "", "a hub revision or empty", lambda v: isinstance(v, str), MODEL_ARG + "revision"
    )
    """Hub revision (branch, tag or commit) of a hub model; empty: the default branch."""
    trust_remote_code: bool = setting(
        False, "true or false", lambda v: isinstance(v, bool), MODEL_ARG + "trust_remote_code"
    )
    """Run the model repository's own Python code (needed by some architectures)."""
    chat_template_args: dict = field(default_factory=dict)
    """Extra variables for the chat template, e.g. enable_thinking=false for Qwen3,
    whose template otherwise opens every answer with a thinking block."""

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def parse(cls, model_args: str | dict = "", chat_template_args: str | dict = "") -> "ModelArgs":
        values = (
            parse_key_values(model_args, "--model-args")
            if isinstance(model_args, str)
            else dict(model_args)
        )
        known = {f.name for f in fields(cls)} - {"chat_template_args"}
        for key in values:
            if key not in known:
                raise UsageError(
                    f"--model-args: unknown key {key!r}", hint="known: " + ", ".join(sorted(known))
                )
        template = (
            parse_key_values(chat_template_args, "--chat-template-args")
            if isinstance(chat_template_args, str)
            else dict(chat_template_args)
        )
        return cls(
            **{k: as_field_type(cls, k, v) for k, v in values.items()},
            chat_template_args=template,
        )

    def key(self) -> tuple:
        """A hashable form (the chat template's arguments are a dict)."""
        return tuple(
            (name, tuple(sorted(value.items())) if isinstance(value, dict) else value)
            for name, value in asdict(self).items()
        )


@dataclass(frozen=True)
class SolveConfig:
    budget: int = setting(64, "at least 1", positive)
    """Attempts to spend at most."""
    batch: int = setting(8, "at least 1", positive)
    """Attempts per round. The paper uses 16; 8 gives twice the updates within a small
    budget on a CPU (docs/method.md, 'Defaults')."""
    seed: int = 0
    """Seed of sampling; with the same seed a run repeats (on the same backend and machine)."""
    model: str = "smollm2-135m"
    """Embedded model name, local folder or hub id."""
    backend: str = "auto"
    """Sampler: auto | vllm | hf (| scripted in tests)."""
    confirm: int = setting(0, "0 or more", non_negative)
    """After a discovery, sample this many more attempts and report their pass rate."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    model_args: ModelArgs = field(default_factory=ModelArgs)

    def __post_init__(self) -> None:
        validate(self)

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
        model_args = ModelArgs(**data.pop("model_args", {}))
        known = {f.name for f in fields(cls)}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            sampling=sampling,
            train=train,
            model_args=model_args,
        )


@dataclass(frozen=True)
class CompareConfig:
    """What a compare runs besides each job's SolveConfig."""

    budget: int = setting(32, "at least 1", positive)
    """Attempts per run: smaller than solve's, since a compare runs many jobs."""
    seeds: int = setting(5, "at least 1", positive)
    """Independent runs of each sequential arm (SDPO, multi-turn); the paper reports 5."""
    pool: int = setting(0, "0 (4x the budget) or at least the budget", non_negative)
    """Best-of-k pool size; 0 means POOL_FACTOR x the budget. A pool as large as the
    budget estimates pass@budget from a single draw per sample, 0 or 1 per problem."""
    pool_batch: int = setting(64, "at least 1", positive)
    """Attempts per sampler call while drawing a pool (best-of-k in compare, calibrate):
    vLLM on the 2-core CPU samples 832 tokens/s at batch 64 against 557 at batch 16 and
    354 at batch 8 (bench/RESULTS.md, 'Sampling throughput')."""
    context_tokens: int = setting(2048, "at least 64", lambda v: v >= 64)
    """Multi-turn prompt budget in tokens; the oldest feedback is dropped past it."""
    workers: int = setting(1, "at least 1", positive)
    """Worker processes, each loading its own model."""

    def __post_init__(self) -> None:
        validate(self)
        if self.pool and self.pool < self.budget:
            raise UsageError(
                f"--pool = {self.pool} is smaller than --budget = {self.budget}",
                hint="pass@k needs a pool of at least k samples",
            )

    @property
    def pool_size(self) -> int:
        return self.pool or POOL_FACTOR * self.budget


@dataclass(frozen=True)
class ProbeConfig:
    samples: int = setting(16, "at least 1", positive)
    """Student attempts of `sdpo probe` (teacher and control add as many as fail)."""
    auto_samples: int = setting(8, "at least 1", positive, flag="--probe-samples")
    """Student attempts of the probe that `sdpo solve --method auto` runs first: fewer,
    since they count against the run's budget."""

    def __post_init__(self) -> None:
        validate(self)


SAMPLING_FIELDS = {f.name for f in fields(SamplingConfig)}
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
SOLVE_FIELDS = {f.name for f in fields(SolveConfig)} - {"sampling", "train", "model_args"}
MODEL_FIELDS = {"model_args", "chat_template_args"}


def solve_config(**options: Any) -> SolveConfig:
    """The one builder of a SolveConfig from flat options (as the commands take them:
    budget, temperature, alpha, learning_rate, lora_targets as "a,b" or a tuple, ...);
    options not given keep their defaults, `seed` seeds sampling and training alike;
    model_args and chat_template_args as "key=value,..." or dicts."""
    unknown = set(options) - SAMPLING_FIELDS - TRAIN_FIELDS - SOLVE_FIELDS - MODEL_FIELDS
    if unknown:
        raise UsageError(f"unknown setting {sorted(unknown)[0]!r}")
    targets = options.get("lora_targets")
    if isinstance(targets, str):
        options["lora_targets"] = tuple(t.strip() for t in targets.split(",") if t.strip())
    sampling = SamplingConfig(**{k: v for k, v in options.items() if k in SAMPLING_FIELDS})
    train = TrainConfig(**{k: v for k, v in options.items() if k in TRAIN_FIELDS})
    solve = {k: v for k, v in options.items() if k in SOLVE_FIELDS}
    model_args = ModelArgs.parse(
        options.get("model_args") or "", options.get("chat_template_args") or ""
    )
    return SolveConfig(**solve, sampling=sampling, train=train, model_args=model_args)
