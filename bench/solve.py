"""Cost of an SDPO round against a sampling-only round of the same batch, side by side.

On a shipped problem the embedded model fails (so every SDPO round trains), rounds
alternate: SDPO (generate + verify, then the loop's own update: teacher forward, student
forward/backward, optimizer and EMA steps, weight sync, the round's log and checkpoint)
and sampling-only (generate + verify). Both kinds log their attempts and sample from the
current policy with the same seed (vLLM's samples still differ between them: its seeded
sampling is not bit-reproducible on the CPU). The SDPO round generates first, right
after the previous round's weight sync, as in a run (with the other order the
sampling-only round did, and on the same tokens the first generation of a pair took
0.92-1.24x as long as the second; bench/RESULTS.md). Prints wall seconds per attempt
of each kind, their ratio, the per-round ratios and the breakdown. Target: SDPO <= 1.5x.

    python bench/solve.py [--problem problems/count-vowels.json] [--rounds 3] [--batch 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", default="problems/count-vowels.json")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--backend", default="auto")
    parser.add_argument(
        "--lora-targets", default=None, help="comma-separated modules (default: sdpo's)"
    )
    args = parser.parse_args()
    from sdpo_cli.config import SolveConfig, TrainConfig

    train = (
        TrainConfig(lora_targets=tuple(args.lora_targets.split(",")))
        if args.lora_targets
        else TrainConfig()
    )
    config = SolveConfig(batch=args.batch, backend=args.backend, train=train)
    measured = measure_rounds(config, args.problem, args.rounds)
    report(measured, config, args.rounds)


def measure_rounds(config, problem_path: str, rounds: int, on_update=None) -> dict:
    """Start the engine for `config`, then `rounds` pairs of rounds (SDPO, sampling-only)
    of config.batch attempts on the problem. `on_update(row)` runs after each SDPO update
    (bench/gpu_check.py reads GPU memory there). Returns the start-up time, the rows of
    both kinds, and the engine's backend and problem id."""
    from sdpo_cli.methods.attempts import BatchSpec, Tally, sample_and_verify
    from sdpo_cli.methods.base import MethodContext
    from sdpo_cli.methods.engine import load_engine
    from sdpo_cli.methods.sdpo import SdpoSearch
    from sdpo_cli.runlog import RunLog
    from sdpo_cli.verifiers.registry import load_checked

    batch = config.batch
    problem, verifier = load_checked(problem_path)
    start = time.perf_counter()
    engine = load_engine(config)
    startup = time.perf_counter() - start
    policy, sampler = engine.policy, engine.sampler
    prompt = policy.chat_ids(problem.messages())
    plain, sdpo = [], []
    with tempfile.TemporaryDirectory() as tmp:
        log = RunLog.create(Path(tmp) / "run", {"problem": problem.id})
        context = MethodContext(problem, verifier, policy, sampler, config, log)
        search = SdpoSearch(context)
        # The process's first generation is slow (vLLM's first calls); a run of either kind
        # pays it once, so it is left out of both.
        unlogged = replace(context, log=None, tally=Tally())
        sample_and_verify(unlogged, prompt, batch, BatchSpec(999, 1, 0, policy.version))
        for r in range(rounds):
            # As in a run, the SDPO round's generation comes right after the last weight
            # sync, and the sampling-only round's does not (a best-of-k run never syncs):
            # both generate from the current policy, the SDPO round first.
            rows, batches = {}, {}
            for kind in ("sdpo", "sampling"):
                tally = Tally()
                clock = time.perf_counter()
                spec = BatchSpec(1000 + r, 1, r + 1, policy.version)
                batches[kind] = sample_and_verify(
                    replace(context, tally=tally), prompt, batch, spec
                )
                rows[kind] = {
                    "generate_s": tally.generate_s,
                    "verify_s": tally.verify_s,
                    "tokens": tally.tokens_generated,
                    "passes": sum(a.passed for a in batches[kind]),
                    "total_s": time.perf_counter() - clock,
                }
            row = rows["sdpo"]
            update_clock = time.perf_counter()
            record = search.update(r + 1, batches["sdpo"])
            update_s = time.perf_counter() - update_clock
            row.update(
                {
                    key: record[key]
                    for key in (
                        "teacher_forward_s",
                        "student_forward_backward_s",
                        "sync_s",
                        "sampler_gap",
                    )
                }
            )
            # building the teacher prompts, optimizer and EMA steps, the round's log, the checkpoint
            row["other_s"] = (
                update_s
                - row["teacher_forward_s"]
                - row["student_forward_backward_s"]
                - row["sync_s"]
            )
            row["total_s"] += update_s
            if on_update is not None:
                on_update(row)
            sdpo.append(row)
            plain.append(rows["sampling"])
        search.finish_checkpoint()
    engine.close()
    return {
        "startup_s": startup,
        "plain": plain,
        "sdpo": sdpo,
        "backend": engine.backend,
        "problem": problem.id,
        "dtype": engine.dtype,
        "memory_plan": getattr(sampler, "memory_plan", None),
    }


def report(measured: dict, config, rounds: int) -> None:
    """Print the table, the ratios and the rows as JSON."""
    plain, sdpo, batch = measured["plain"], measured["sdpo"], config.batch
    train = config.train

    def mean(rows, key):
        return statistics.mean(r.get(key) or 0.0 for r in rows)

    per_plain = mean(plain, "total_s") / batch
    per_sdpo = mean(sdpo, "total_s") / batch
    print(
        f"backend {measured['backend']}, problem {measured['problem']}, batch {batch}, "
        f"{rounds} rounds each, start-up {measured['startup_s']:.1f} s, "
        f"LoRA on {','.join(train.lora_targets)}, weights {measured['dtype']['dtype']}"
    )
    print(
        f"{'round kind':<14} {'s/attempt':>10} {'generate':>9} {'verify':>7} {'teacher fwd':>12} "
        f"{'student f+b':>12} {'sync':>6} {'other':>6} {'tokens':>7}"
    )
    for name, rows, per in (("sampling-only", plain, per_plain), ("sdpo", sdpo, per_sdpo)):
        print(
            f"{name:<14} {per:>10.2f} {mean(rows, 'generate_s'):>9.1f} "
            f"{mean(rows, 'verify_s'):>7.1f} "
            f"{mean(rows, 'teacher_forward_s'):>12.1f} "
            f"{mean(rows, 'student_forward_backward_s'):>12.1f} "
            f"{mean(rows, 'sync_s'):>6.1f} {mean(rows, 'other_s'):>6.1f} "
            f"{mean(rows, 'tokens'):>7.0f}"
        )
    print(f"ratio sdpo / sampling-only per attempt: {per_sdpo / per_plain:.2f}")
    ratios = [s["total_s"] / p["total_s"] for s, p in zip(sdpo, plain)]
    print("per round: " + ", ".join(f"{x:.2f}" for x in ratios))
    # The same quantity without the variance of attempt lengths between rounds: each SDPO
    # round's total against its own generate + verify time.
    matched = statistics.mean(r["total_s"] / (r["generate_s"] + r["verify_s"]) for r in sdpo)
    print(f"ratio sdpo round / its own sampling part (matched): {matched:.2f}")
    print(json.dumps({"plain": plain, "sdpo": sdpo}, indent=1))


if __name__ == "__main__":
    main()
