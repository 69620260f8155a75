"""`sdpo calibrate`: how often the model solves each problem by sampling alone.

For each problem and temperature, an i.i.d. pool of attempts (best-of-k's pool, drawn at
the sampler's efficient batch) is verified and its pass count recorded in the problem
file's `metadata.calibration` (model, samples, passes, temperature, date), with the
difficulty label it implies. A problem already calibrated for the same model, pool size
and temperature is skipped, so an interrupted calibration resumes where it stopped.
The frontier where a discovery method can beat best-of-k lies between the problems the
model always solves and those it never does: `select` picks it by pass count.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..problem import Problem
from ..runlog import atomic_write
from ..verifiers.base import Verifier
from .base import MethodContext
from .best_of_k import BestOfK

# difficulty by the share of a pool that passes (problems/README.md)
BANDS = (("easy", 0.25), ("medium", 0.10))


def difficulty(passes: int, samples: int) -> str:
    for label, share in BANDS:
        if passes >= share * samples:
            return label
    return "hard" if passes else "unsolved"


def recorded(problem: Problem, model: str, samples: int, temperature: float) -> dict | None:
    """This problem's calibration for (model, samples, temperature), if it has one."""
    records = problem.metadata.get("calibration")
    for record in records if isinstance(records, list) else []:
        if (record.get("model"), record.get("samples"), record.get("temperature")) == (
            model,
            samples,
            temperature,
        ):
            return record
    return None


def calibrate(
    engine,
    problem: Problem,
    verifier: Verifier,
    config,
    samples: int,
    temperature: float,
    batch: int,
) -> dict[str, Any]:
    """Sample and verify one pool; return its record (nothing is written)."""
    sampling = replace(config.sampling, temperature=temperature)
    context = MethodContext(
        problem,
        verifier,
        engine.policy,
        engine.sampler,
        replace(config, budget=samples, sampling=sampling),
        stream=f"calibrate-{temperature:g}",
    )
    result = BestOfK(pool=samples, pool_batch=batch).run(context)
    return {
        "model": config.model,
        "samples": samples,
        "passes": result.passes,
        "temperature": temperature,
        "date": time.strftime("%Y-%m-%d"),
    }


def record_calibration(path: Path, record: dict[str, Any], label_from_it: bool) -> None:
    """Add `record` to the problem file's metadata.calibration (replacing one for the
    same model, pool size and temperature); set metadata.difficulty from it when asked.
    The rest of the file is kept as it is."""
    data = json.loads(path.read_text(encoding="utf-8"))
    metadata = data.setdefault("metadata", {})
    old = metadata.get("calibration")
    key = ("model", "samples", "temperature")
    kept = [
        r
        for r in (old if isinstance(old, list) else [])
        if tuple(r.get(k) for k in key) != tuple(record[k] for k in key)
    ]
    metadata["calibration"] = kept + [record]
    if label_from_it:
        metadata["difficulty"] = difficulty(record["passes"], record["samples"])
    mode = path.stat().st_mode & 0o7777
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.chmod(path, mode)  # a problem file keeps its permissions


def select(
    paths: list[Path], records: dict[str, dict], low: int, high: int, into: Path
) -> list[str]:
    """Copy the problem files whose pass count lies in [low, high] into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    chosen = []
    for path in paths:
        record = records.get(str(path))
        if record is not None and low <= record["passes"] <= high:
            shutil.copy2(path, into / path.name)
            chosen.append(path.name)
    return chosen
