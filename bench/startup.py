"""Time from `sdpo solve` starting to its first sampled and first verified attempt.

Runs `sdpo solve problems/reverse-string.json` as a user does (a new process each time)
for each backend, and reads the run directory as it fills: the first line of
attempts.jsonl is written once the first attempt is verified; its sampling ended that
attempt's verification seconds earlier. Also prints the engine's start-up (run.json
`startup_s`: model resolution, trainer, sampler). "cold" runs with an empty sdpo cache,
so it includes the embedded model's one-time conversion from GGUF; "warm" with the model
cached. One process at a time: run it on a quiet machine.

    python bench/startup.py [--backends vllm,hf] [--cold]
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
PROBLEM = ROOT / "problems" / "reverse-string.json"


def first_attempt(backend: str, cache: str | None) -> dict:
    """One solve until its first verified attempt (then stopped): the seconds to it."""
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        out = Path(tmp) / "run"
        env = dict(os.environ)
        if cache is not None:
            env["SDPO_CACHE_DIR"] = cache
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sdpo_cli", "solve", str(PROBLEM), "--budget", "8"]
            + ["--backend", backend, "--out", str(out), "--json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        attempts = out / "attempts.jsonl"
        try:
            while not (attempts.exists() and attempts.read_text().strip()):
                if proc.poll() is not None:
                    raise SystemExit(f"sdpo solve exited {proc.returncode} before any attempt")
                time.sleep(0.05)
            verified = time.perf_counter() - start
        finally:
            proc.terminate()
            proc.wait()
        record = json.loads(attempts.read_text().splitlines()[0])
        info = json.loads((out / "run.json").read_text())
        return {
            "backend": backend,
            "first_verified_s": round(verified, 1),
            "first_sampled_s": round(verified - record["verdict"]["seconds"], 1),
            "engine_startup_s": info.get("startup_s"),
            "dtype": info.get("dtype", {}).get("dtype"),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="vllm,hf")
    parser.add_argument("--cold", action="store_true", help="also a first run after install")
    args = parser.parse_args()
    from sdpo_cli.hardware import cpu_flags, shown_flags

    rows = []
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="startup-cache-") as cache:
            backend = args.backends.split(",")[0]
            rows.append({"start": "cold", **first_attempt(backend, cache)})
    for backend in args.backends.split(","):
        rows.append({"start": "warm", **first_attempt(backend, None)})
    print(f"cpu flags: {' '.join(shown_flags(cpu_flags()))}")
    print(f"{'start':<6} {'backend':<8} {'first sampled':>14} {'first verified':>15} {'engine':>7}")
    for r in rows:
        print(
            f"{r['start']:<6} {r['backend']:<8} {r['first_sampled_s']:>13}s "
            f"{r['first_verified_s']:>14}s {r['engine_startup_s']:>6}s"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
