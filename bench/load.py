"""One `sdpo solve` alone against two side by side, under each OpenMP wait setting.

Two model processes on a 2-core machine used to slow each other 5-10x: OpenMP threads
that finish their share of a parallel region spin waiting for the next one, taking the
core the other process needs. For each policy this runs one solve alone, then two at
once (different seeds), on a problem the embedded model fails (every round trains), and
prints each run's seconds per attempt after start-up (alone: the mean of two runs) and
the slowdown of the pair. Target: at most 2.5x. A setting is `library` (the OpenMP
library's default: OMP_WAIT_POLICY set empty, which libgomp ignores and sdpo leaves
alone), an OMP_WAIT_POLICY value (PASSIVE, ACTIVE), `spin=N` (libgomp's GOMP_SPINCOUNT:
spin N times before sleeping), or `auto`, sdpo's own choice (cpu_sharing.py): the second
solve starts 5 s after the first, finds it and waits passively, the first keeps the
library's default.

    python bench/load.py [--policies library,PASSIVE,spin=10000,auto] [--budget 24]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start(problem: str, budget: int, seed: int, out: Path, policy: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    if policy.startswith("spin="):
        env["OMP_WAIT_POLICY"] = "ACTIVE"  # unset, libgomp may sleep before the count ends
        env["GOMP_SPINCOUNT"] = policy.removeprefix("spin=")
    elif policy == "library":
        env["OMP_WAIT_POLICY"] = ""
    elif policy != "auto":
        env["OMP_WAIT_POLICY"] = policy
    return subprocess.Popen(
        [sys.executable, "-m", "sdpo_cli", "solve", problem, "--budget", str(budget)]
        + ["--seed", str(seed), "--out", str(out), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def per_attempt(proc: subprocess.Popen, out: Path) -> float:
    """Seconds per attempt after the engine started (sampling, verifying, training)."""
    stdout, _ = proc.communicate()
    summary = json.loads(stdout)
    startup = json.loads((out / "run.json").read_text())["startup_s"]
    return (summary["timings"]["total_s"] - startup) / summary["attempts"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", default=str(ROOT / "problems" / "count-vowels.json"))
    parser.add_argument("--budget", type=int, default=24)
    parser.add_argument("--policies", default="library,PASSIVE,auto")
    args = parser.parse_args()
    from sdpo_cli.hardware import cpu_flags, shown_flags, usable_cpus

    rows = []
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        for policy in args.policies.split(","):
            out = Path(tmp, policy)
            alone = (
                sum(
                    per_attempt(
                        start(args.problem, args.budget, 0, out / f"a{i}", policy), out / f"a{i}"
                    )
                    for i in (0, 1)
                )
                / 2
            )
            pair = []
            for seed in (1, 2):
                pair.append(
                    (
                        start(args.problem, args.budget, seed, out / f"p{seed}", policy),
                        out / f"p{seed}",
                    )
                )
                if policy == "auto":
                    time.sleep(5)  # the first is running when the second looks for it
            beside = [per_attempt(proc, folder) for proc, folder in pair]
            rows.append(
                {
                    "policy": policy,
                    "alone_s": round(alone, 2),
                    "beside_s": [round(b, 2) for b in beside],
                    "slowdown": round(max(beside) / alone, 2),
                }
            )
    print(f"cpu flags: {' '.join(shown_flags(cpu_flags()))}; usable cpus {usable_cpus()}")
    print(
        f"{'OMP_WAIT_POLICY':<16} {'alone s/attempt':>16} {'beside s/attempt':>18} {'slowdown':>9}"
    )
    for r in rows:
        beside = "/".join(f"{b:.2f}" for b in r["beside_s"])
        print(f"{r['policy']:<16} {r['alone_s']:>16.2f} {beside:>18} {r['slowdown']:>8.2f}x")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
