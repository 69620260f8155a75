"""`sdpo calibrate`: how often the model solves each problem by sampling alone.

For each problem and sampling setting (temperature, top-p), an i.i.d. pool of attempts
(best-of-k's pool, drawn at the sampler's efficient batch) is verified and its pass count
recorded in the problem file's `metadata.calibration` (model, samples, passes,
temperature, top_p, date), with the difficulty label it implies. A problem already
calibrated for the same model, pool size and setting is skipped, so an interrupted
calibration resumes where it stopped (a record without top_p is one at 1.0).
The frontier where a discovery method can beat best-of-k lies between the problems the
model always solves and those it never does: `choose_setting` picks the setting that puts
the most problems in a band of pass counts, from pools alone, and `select` copies the
problems in that band.
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


def record_key(record: dict[str, Any]) -> tuple:
    """What a calibration record was measured at: (model, samples, temperature, top_p)."""
    fields = ("model", "samples", "temperature")
    return (*(record.get(k) for k in fields), record.get("top_p", 1.0))


def recorded(
    problem: Problem, model: str, samples: int, temperature: float, top_p: float
) -> dict | None:
    """This problem's calibration for (model, samples, temperature, top_p), if it has one."""
    records = problem.metadata.get("calibration")
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and record_key(record) == (model, samples, temperature, top_p):
            return {**record, "top_p": record.get("top_p", 1.0)}
    return None


def calibrate(
    engine,
    problem: Problem,
    verifier: Verifier,
    config,
    samples: int,
    temperature: float,
    top_p: float,
    batch: int,
) -> dict[str, Any]:
    """Sample and verify one pool; return its record (nothing is written)."""
    sampling = replace(config.sampling, temperature=temperature, top_p=top_p)
    context = MethodContext(
        problem,
        verifier,
        engine.policy,
        engine.sampler,
        replace(config, budget=samples, sampling=sampling),
        stream=f"calibrate-{temperature:g}" + (f"-p{top_p:g}" if top_p < 1 else ""),
    )
    result = BestOfK(pool=samples, pool_batch=batch).run(context)
    return {
        "model": config.model,
        "samples": samples,
        "passes": result.passes,
        "temperature": temperature,
        "top_p": top_p,
        "date": time.strftime("%Y-%m-%d"),
    }


def record_calibration(path: Path, record: dict[str, Any], label_from_it: bool) -> None:
    """Add `record` to the problem file's metadata.calibration (replacing one for the
    same model, pool size and setting); set metadata.difficulty from it when asked.
    The rest of the file is kept as it is."""
    data = json.loads(path.read_text(encoding="utf-8"))
    metadata = data.setdefault("metadata", {})
    old = metadata.get("calibration")
    kept = [
        r
        for r in (old if isinstance(old, list) else [])
        if not isinstance(r, dict) or record_key(r) != record_key(record)
    ]
    metadata["calibration"] = kept + [record]
    if label_from_it:
        metadata["difficulty"] = difficulty(record["passes"], record["samples"])
    mode = path.stat().st_mode & 0o7777
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.chmod(path, mode)  # a problem file keeps its permissions


def shared_records(paths: list[Path], model: str, samples: int) -> list[dict[str, Any]]:
    """Every calibration record (with its "path") of the problem files for this model and
    pool size, at the settings all of them have been calibrated at: a grid can be built
    over several calls, and a setting only some problems have is not compared."""
    by_setting: dict[tuple[float, float], list[dict[str, Any]]] = {}
    for path in paths:
        records = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        for record in records.get("calibration") or []:
            if isinstance(record, dict) and record_key(record)[:2] == (model, samples):
                setting = record_key(record)[2:]
                entry = {**record, "top_p": setting[1], "path": str(path)}
                by_setting.setdefault(setting, []).append(entry)
    return [r for group in by_setting.values() if len(group) == len(paths) for r in group]


def choose_setting(results: list[dict[str, Any]], low: int, high: int) -> dict[str, Any]:
    """The (temperature, top_p) whose pools put the most problems within [low, high]
    passes; ties go to the setting nearer the paper's (higher temperature, then higher
    top-p: less departure from sampling the model as it is)."""
    counts: dict[tuple[float, float], int] = {}
    for r in results:
        setting = (r["temperature"], r["top_p"])
        counts[setting] = counts.get(setting, 0) + (low <= r["passes"] <= high)
    (temperature, top_p), in_band = max(counts.items(), key=lambda item: (item[1], *item[0]))
    return {"temperature": temperature, "top_p": top_p, "in_band": in_band, "band": [low, high]}


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
