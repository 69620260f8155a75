"""Turn the jobs' logs into discovery statistics per problem and method (paper §5; docs/method.md).

Reads only run directories (run.json, attempts.jsonl, rounds.jsonl), so `sdpo report`
re-renders a compare without recomputing anything. Costs: every attempt carries its
tokens and seconds; a sequential run's training rounds add their processed tokens and
seconds before the next round's attempts, so curves against compute are fair.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import metrics as M
from ..errors import UsageError
from ..runlog import read_jsonl

AXES = ("tokens_generated", "tokens_processed", "seconds")
LEVELS = (0.25, 0.5)
GRID_POINTS = 41


def read_json_object(path: Path, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object from a compare's output, with the keys it must have; anything else
    is a UsageError naming the file (exit 2), never a crash."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UsageError(
            f"cannot be read: {exc}", str(path), "rerun `sdpo compare` into a fresh --out directory"
        ) from None
    if not isinstance(data, dict) or any(key not in data for key in required):
        raise UsageError(
            f"not a JSON object with {', '.join(required) or 'fields'}",
            str(path),
            "rerun `sdpo compare` into a fresh --out directory",
        )
    return data


def load_runs(out: Path) -> list[dict[str, Any]]:
    """Finished job runs with their per-attempt cumulative costs."""
    runs = []
    for run_json in sorted((Path(out) / "jobs").glob("*/run.json")):
        info = read_json_object(run_json, required=("status",))
        if info["status"] not in ("solved", "unsolved"):
            continue
        if not isinstance(info.get("result"), dict):
            raise UsageError(
                "a finished job without its result",
                str(run_json),
                "delete that job's directory and rerun the compare to redo it",
            )
        attempts = [
            a
            for a in read_jsonl(run_json.parent / "attempts.jsonl")
            if a.get("phase", "search") == "search"
        ]
        rounds = {r["round"]: r for r in read_jsonl(run_json.parent / "rounds.jsonl")}
        runs.append({**info["result"], "costs": cumulative_costs(attempts, rounds)})
    return runs


def cumulative_costs(attempts: list[dict], rounds: dict[int, dict]) -> dict[str, list[float]]:
    costs = {axis: [] for axis in AXES}
    totals = dict.fromkeys(AXES, 0.0)
    trained = 0
    for attempt in sorted(attempts, key=lambda a: a["index"]):
        while trained + 1 < attempt["round"]:  # updates that happened before this round
            trained += 1
            update = rounds.get(trained, {})
            totals["tokens_processed"] += update.get("tokens_processed", 0)
            totals["seconds"] += update.get("train_s", 0.0)
        totals["tokens_generated"] += len(attempt["token_ids"])
        totals["tokens_processed"] += attempt["prompt_tokens"] + len(attempt["token_ids"])
        totals["seconds"] += attempt["seconds"]
        for axis in AXES:
            costs[axis].append(totals[axis])
    return costs


def analyse(
    runs: list[dict[str, Any]],
    baselines: tuple[str, ...] = ("bestofk", "multiturn", "multiturn-chat"),
    seed: int = 0,
) -> dict[str, Any]:
    problems: dict[str, dict[str, list]] = {}
    for run in runs:
        problems.setdefault(run["problem"], {}).setdefault(run["method"], []).append(run)
    per_problem = {
        pid: _problem_stats(methods, baselines, seed) for pid, methods in sorted(problems.items())
    }
    return {"problems": per_problem, "aggregate": _aggregate(per_problem)}


def _problem_stats(methods: dict[str, list], baselines, seed: int) -> dict[str, Any]:
    budget = min(r["budget"] for runs in methods.values() for r in runs)
    stats = {
        name: (
            _pool_stats(runs[0], budget, seed)
            if name == "bestofk"
            else _sequential_stats(runs, budget, seed)
        )
        for name, runs in sorted(methods.items())
    }
    for axis in AXES:
        top = max(
            (max(r["costs"][axis], default=0.0) for runs in methods.values() for r in runs),
            default=0.0,
        )
        grid = [top * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
        for name, runs in methods.items():
            stats[name].setdefault("cost_curves", {})[axis] = {
                "grid": grid,
                "discovery": _cost_curve(runs, axis, grid, name == "bestofk", budget),
            }
    if "sdpo" in stats:
        sdpo_curve = stats["sdpo"]["curve"]
        for base in baselines:
            if base in stats:
                # the highest level both curves reach, exactly: a rounded level can lie
                # above a curve's maximum and lose the ratio; the key is rounded for display
                reached = min(max(stats[base]["curve"]), max(sdpo_curve))
                levels = sorted({*LEVELS, reached} - {0.0})
                stats["sdpo"].setdefault("ratio_vs", {})[base] = {
                    f"{p:.4g}": M.matched_ratio(stats[base]["curve"], sdpo_curve, p) for p in levels
                }
    return {"budget": budget, "methods": stats}


def _summary(curve: list[float], budget: int) -> dict[str, Any]:
    return {
        "curve": curve,
        "discovery_at_budget": curve[budget],
        "mean_attempts": M.mean_truncated(curve),
        "median_attempts": M.median_attempts(curve),
    }


def _band(values: list, curve_of, seed: int, resamples: int = 200) -> list[list[float]]:
    """Pointwise 90% bootstrap band [low, high] of a curve."""
    import numpy as np

    rng = np.random.default_rng(seed)
    curves = np.array(
        [
            curve_of([values[i] for i in rng.integers(0, len(values), len(values))])
            for _ in range(resamples)
        ]
    )
    return [np.percentile(curves, 5, axis=0).tolist(), np.percentile(curves, 95, axis=0).tolist()]


def _sequential_stats(runs: list[dict], budget: int, seed: int) -> dict[str, Any]:
    times = [
        r["attempts_to_solve"] if r["solved"] and r["attempts_to_solve"] <= budget else None
        for r in runs
    ]
    curve = M.discovery_curve(times, budget)
    stats = {
        "runs": len(runs),
        "solved_runs": sum(t is not None for t in times),
        **_summary(curve, budget),
    }
    stats["band"] = _band(times, lambda s: M.discovery_curve(s, budget), seed)
    stats["ci90"] = {
        "discovery_at_budget": M.bootstrap(
            times, lambda s: M.discovery_curve(s, budget)[budget], seed=seed
        ).to_json(),
        "mean_attempts": M.bootstrap(
            times, lambda s: M.mean_truncated(M.discovery_curve(s, budget)), seed=seed
        ).to_json(),
        "median_attempts": M.bootstrap(
            times, lambda s: M.median_attempts(M.discovery_curve(s, budget)), seed=seed
        ).to_json(),
    }
    return stats


def _pool_stats(run: dict, budget: int, seed: int) -> dict[str, Any]:
    n, c = run["attempts"], run["passes"]
    curve = M.pass_curve(n, c, budget)
    outcomes = [True] * c + [False] * (n - c)
    stats = {"runs": 1, "pool": n, "pool_passes": c, **_summary(curve, budget)}
    stats["band"] = _band(outcomes, lambda s: M.pass_curve(n, sum(s), budget), seed)
    stats["ci90"] = {
        "discovery_at_budget": M.bootstrap(
            outcomes, lambda s: M.pass_at_k(n, sum(s), budget), seed=seed
        ).to_json(),
        "mean_attempts": M.bootstrap(
            outcomes, lambda s: M.mean_truncated(M.pass_curve(n, sum(s), budget)), seed=seed
        ).to_json(),
        "median_attempts": M.bootstrap(
            outcomes, lambda s: M.median_attempts(M.pass_curve(n, sum(s), budget)), seed=seed
        ).to_json(),
    }
    return stats


def _cost_curve(
    runs: list[dict], axis: str, grid: list[float], pool: bool, budget: int
) -> list[float]:
    if pool:  # i.i.d. attempts: k attempts cost k times the mean attempt
        run = runs[0]
        unit = run["costs"][axis][-1] / max(1, len(run["costs"][axis]))
        curve = M.pass_curve(run["attempts"], run["passes"], budget)
        return [curve[min(budget, int(g / unit))] if unit > 0 else 0.0 for g in grid]
    costs, events = [], []
    for r in runs:
        series = r["costs"][axis]
        solved = r["solved"] and r["attempts_to_solve"] <= len(series)
        costs.append(
            series[r["attempts_to_solve"] - 1] if solved else (series[-1] if series else 0.0)
        )
        events.append(solved)
    return M.cost_curve(costs, events, grid)


def _aggregate(per_problem: dict[str, dict]) -> dict[str, Any]:
    methods: dict[str, list] = {}
    for stats in per_problem.values():
        for name, s in stats["methods"].items():
            methods.setdefault(name, []).append(s)
    out = {}
    for name, items in methods.items():
        out[name] = {
            "problems": len(items),
            "mean_discovery_at_budget": sum(s["discovery_at_budget"] for s in items) / len(items),
            "mean_attempts": sum(s["mean_attempts"] for s in items) / len(items),
        }
        if all(len(s["curve"]) == len(items[0]["curve"]) for s in items):
            out[name]["curve"] = [sum(v) / len(items) for v in zip(*(s["curve"] for s in items))]
    return out
