"""How far one SDPO update moves the policy at each learning rate (the LoRA default).

Discovery rate cannot pick the rate on the embedded model: it is a worse teacher than
student (bench/RESULTS.md, 'sdpo probe'), and a handful of runs per rate could not tell
rates apart anyway. What a rate must do is measurable: move the sampled policy by more
than the sampler's bf16 noise (the trainer/sampler log-prob gap, 0.05-0.08 nat/token
here) within the few updates a budget allows, while the SDPO loss still falls. For each
rate, from the same fresh adapter: `--updates` updates, each on a new round of attempts
sampled from the current policy; after each, the loss on the round just trained on
(before -> after) and the shift of the policy: over a fixed held-out round, the mean of
|change of an attempt's mean per-token log-prob| against the initial model.

    python bench/learning_rate.py [--rates 1e-5,1e-4,3e-4,1e-3] [--updates 4] [--batch 8]
                                  [--lora-targets all-linear,gate_proj+up_proj+down_proj]
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", default="problems/count-vowels.json")
    parser.add_argument("--rates", default="1e-5,1e-4,3e-4,1e-3")
    parser.add_argument("--updates", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--lora-targets",
        default="all-linear",
        help="comma-separated choices to compare, modules of one choice joined by +",
    )
    args = parser.parse_args()
    from sdpo_cli.backends.hf import HFSampler
    from sdpo_cli.config import SolveConfig, TrainConfig
    from sdpo_cli.methods.attempts import BatchSpec, sample_and_verify
    from sdpo_cli.methods.base import MethodContext
    from sdpo_cli.methods.sdpo import build_examples
    from sdpo_cli.models import resolve_model
    from sdpo_cli.train.policy import Policy
    from sdpo_cli.train.shared_prompt import mean_response_logprobs
    from sdpo_cli.train.update import make_optimizer, sdpo_loss, sdpo_update
    from sdpo_cli.verifiers.registry import load_checked

    problem, verifier = load_checked(args.problem)
    path = str(resolve_model().path)
    results = {}
    target_choices = args.lora_targets.split(",")
    for targets, rate in ((t, float(r)) for t in target_choices for r in args.rates.split(",")):
        label = f"{rate:g}" if len(target_choices) == 1 else f"{rate:g} {targets}"
        train = TrainConfig(learning_rate=rate, lora_targets=tuple(targets.split("+")))
        config = SolveConfig(batch=args.batch, train=train)
        policy = Policy(path, config.train)
        sampler, optimizer = HFSampler(policy), make_optimizer(policy, config.train)
        prompt = policy.chat_ids(problem.messages())
        context = MethodContext(problem, verifier, policy, sampler, config)
        held_out = [
            c.token_ids for c in sampler.sample(prompt, args.batch, config.sampling, seed=999)
        ]
        initial = mean_response_logprobs(policy, [prompt] * len(held_out), held_out)
        rows = []
        for update in range(args.updates):
            spec = BatchSpec(100 + update, 1, update, policy.version)
            attempts = sample_and_verify(context, prompt, args.batch, spec)
            examples = build_examples(policy, problem, attempts, config)
            metrics = sdpo_update(policy, optimizer, examples, config.train, config.sampling)
            after = sdpo_loss(policy, examples, config.train, config.sampling)["loss"]
            now = mean_response_logprobs(policy, [prompt] * len(held_out), held_out)
            shift = sum(abs(a - b) for a, b in zip(now, initial)) / len(now)
            rows.append(
                {
                    "loss_before": round(metrics["loss"], 4),
                    "loss_after": round(after, 4),
                    "kl": round(metrics["kl"], 4),
                    "grad_norm": round(metrics["grad_norm"], 3),
                    "held_out_shift": round(shift, 4),
                    "passes": sum(a.passed for a in attempts),
                }
            )
            print(
                f"lr {label} update {update + 1}: "
                f"loss {rows[-1]['loss_before']} -> {rows[-1]['loss_after']}, "
                f"held-out shift {rows[-1]['held_out_shift']} nat/token, "
                f"passes {rows[-1]['passes']}",
                flush=True,
            )
        results[label] = rows
        del policy, sampler, optimizer
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
