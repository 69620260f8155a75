"""Turn the jobs' logs into discovery statistics per problem and arm (paper §5;
docs/method.md). An arm is a method with its settings (`sdpo`, `sdpo[lr=3e-4]`); runs
are grouped by its label.

Reads only run directories (run.json, attempts.jsonl, rounds.jsonl), so `sdpo report`
re-renders a compare without recomputing anything. Costs: every attempt carries its
tokens and seconds; a sequential run's training rounds add their processed tokens and
seconds before the next round's attempts, so curves against compute are fair. A median
beyond the budget is reported as "> B" (so are interval ends), never dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import metrics as M
from ..errors import UsageError
from ..repeats import attempt_key
from ..runlog import read_jsonl
from .ratios import WIN_RULE, ArmSample, averaged_curve, averaged_ratio, problem_ratio

AXES = ("tokens_generated", "tokens_processed", "seconds")
GRID_POINTS = 41
BASELINES = ("bestofk", "multiturn", "multiturn-chat")
DESIGN = (
    "unpaired: every arm samples its own streams, so runs of different arms are "
    "independent, and intervals resample each arm's runs independently"
)


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
        result = info["result"]
        runs.append(
            {
                **result,
                "arm": result.get("arm", result["method"]),
                "costs": cumulative_costs(attempts, rounds),
                "rounds_seen": round_shares(attempts),
            }
        )
    return runs


FORMAT_FAILURES = ("incorrect_format", "no_answer", "parse_error")


def round_shares(attempts: list[dict]) -> list[dict[str, float]]:
    """Per round, in order: its attempts, the share of distinct attempts (repeats.py: a
    model repeating itself explores less) and the share of well-formed ones (passed, or
    failed on something other than the answer's format)."""
    by_round: dict[int, list[dict]] = {}
    for attempt in attempts:
        by_round.setdefault(attempt["round"], []).append(attempt)
    shares = []
    for number in sorted(by_round):
        group = by_round[number]
        texts = {attempt_key(a["text"]) for a in group}
        formed = [a for a in group if a["verdict"].get("failure_type") not in FORMAT_FAILURES]
        shares.append(
            {
                "round": number,
                "attempts": len(group),
                "distinct": len(texts) / len(group),
                "well_formed": len(formed) / len(group),
            }
        )
    return shares


def mean_round_shares(runs: list[dict]) -> list[dict[str, float]]:
    """round_shares averaged over an arm's runs, round by round (over the runs that
    reached each round)."""
    rows = []
    for index in range(max((len(r.get("rounds_seen", [])) for r in runs), default=0)):
        seen = [r["rounds_seen"][index] for r in runs if len(r.get("rounds_seen", [])) > index]
        rows.append(
            {
                "round": index + 1,
                "runs": len(seen),
                "distinct": sum(s["distinct"] for s in seen) / len(seen),
                "well_formed": sum(s["well_formed"] for s in seen) / len(seen),
            }
        )
    return rows


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


def analyse(runs: list[dict[str, Any]], tested: list[str] | None = None, seed: int = 0) -> dict:
    """Statistics per problem and arm, each tested arm against each baseline arm, and the
    question-averaged curves. `tested`: the labels of the arms under test (default:
    every arm whose method is not a baseline)."""
    problems: dict[str, dict[str, list]] = {}
    for run in runs:
        problems.setdefault(run["problem"], {}).setdefault(run["arm"], []).append(run)
    methods = {run["arm"]: run["method"] for run in runs}
    tested = [
        a for a in (tested or [a for a, m in methods.items() if m not in BASELINES]) if a in methods
    ]
    baselines = [a for a in methods if a not in tested]
    per_problem, samples = {}, {}
    for pid, arms in sorted(problems.items()):
        budget = min(r["budget"] for runs_ in arms.values() for r in runs_)
        samples[pid] = {arm: arm_sample(runs_, budget) for arm, runs_ in arms.items()}
        per_problem[pid] = problem_stats(arms, samples[pid], budget, tested, baselines, seed)
    return {
        "design": DESIGN,
        "win_rule": WIN_RULE,
        "tested": tested,
        "baselines": baselines,
        "problems": per_problem,
        "aggregate": aggregate(per_problem, samples, tested, baselines, seed),
        "cost": arm_costs(runs),
    }


def arm_costs(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per arm over all its runs: attempts, wall seconds (sampling, verification,
    training) and seconds per attempt, each method at its own settings."""
    totals: dict[str, list[float]] = {}
    for run in runs:
        seconds = run["costs"]["seconds"]
        total = totals.setdefault(run["arm"], [0.0, 0.0])
        total[0] += len(seconds)
        total[1] += seconds[-1] if seconds else 0.0
    return {
        arm: {
            "attempts": int(attempts),
            "seconds": round(seconds, 1),
            "seconds_per_attempt": round(seconds / attempts, 3) if attempts else None,
        }
        for arm, (attempts, seconds) in sorted(totals.items())
    }


def arm_sample(runs: list[dict], budget: int) -> ArmSample:
    if runs[0]["method"] == "bestofk":
        n, c = runs[0]["attempts"], runs[0]["passes"]
        return ArmSample(
            [True] * c + [False] * (n - c), lambda s: M.pass_curve(n, sum(s), budget), 1
        )
    times = [
        r["attempts_to_solve"] if r["solved"] and r["attempts_to_solve"] <= budget else None
        for r in runs
    ]
    return ArmSample(times, lambda s: M.discovery_curve(s, budget), len(runs))


def problem_stats(arms, samples, budget, tested, baselines, seed) -> dict[str, Any]:
    stats = {arm: arm_stats(runs, samples[arm], budget, seed) for arm, runs in sorted(arms.items())}
    for axis in AXES:
        top = max(
            (max(r["costs"][axis], default=0.0) for runs in arms.values() for r in runs),
            default=0.0,
        )
        grid = [top * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
        for arm, runs in arms.items():
            pool = runs[0]["method"] == "bestofk"
            stats[arm].setdefault("cost_curves", {})[axis] = {
                "grid": grid,
                "discovery": _cost_curve(runs, axis, grid, pool, budget),
            }
    for arm in tested:
        for base in baselines:
            if arm in samples and base in samples:
                stats[arm].setdefault("vs", {})[base] = problem_ratio(
                    samples[base], samples[arm], budget, seed
                )
    return {"budget": budget, "arms": stats}


def censored(value: float | None, budget: int) -> float | str:
    """A number of attempts, or "> B" where it lies beyond the budget."""
    return f"> {budget}" if value is None or value > budget else value


def arm_stats(runs: list[dict], sample: ArmSample, budget: int, seed: int) -> dict[str, Any]:
    curve = sample.curve()
    stats: dict[str, Any] = {"method": runs[0]["method"], "curve": curve}
    if runs[0]["method"] == "bestofk":
        stats.update(runs=1, pool=runs[0]["attempts"], pool_passes=runs[0]["passes"])
    else:
        stats.update(
            runs=len(runs),
            solved_runs=sum(t is not None for t in sample.values),
            first_success=sample.values,
        )
    median = M.median_attempts(curve)
    stats.update(
        discovery_at_budget=curve[budget],
        mean_attempts=M.mean_truncated(curve),
        median_attempts=censored(median, budget),
        band=_band(sample, seed),
    )

    def interval(statistic) -> list:
        return M.bootstrap(
            sample.values, lambda s: statistic(sample.curve_of(s)), seed=seed
        ).to_json()

    stats["per_round"] = mean_round_shares(runs)
    stats["ci90"] = {
        "discovery_at_budget": interval(lambda c: c[budget]),
        "mean_attempts": interval(M.mean_truncated),
        "median_attempts": [censored(end, budget) for end in interval(_median)],
    }
    return stats


def _median(curve: list[float]) -> int:
    """The median, budget + 1 where the curve never reaches 1/2 (censored)."""
    return M.censored_attempts(curve, 0.5)


def _band(sample: ArmSample, seed: int, resamples: int = 200) -> list[list[float]]:
    """Pointwise 90% bootstrap band [low, high] of a curve."""
    import numpy as np

    rng = np.random.default_rng(seed)
    curves = np.array([sample.resampled_curve(rng) for _ in range(resamples)])
    return [np.percentile(curves, 5, axis=0).tolist(), np.percentile(curves, 95, axis=0).tolist()]


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


def aggregate(per_problem, samples, tested, baselines, seed) -> dict[str, Any]:
    """Means over problems, the question-averaged curve of each arm (where its budget is
    the same on every problem) and, on those curves, each tested arm against each
    baseline."""
    out: dict[str, Any] = {}
    arms = sorted({arm for stats in per_problem.values() for arm in stats["arms"]})
    for arm in arms:
        items = [s["arms"][arm] for s in per_problem.values() if arm in s["arms"]]
        out[arm] = {
            "problems": len(items),
            "mean_discovery_at_budget": sum(s["discovery_at_budget"] for s in items) / len(items),
            "mean_attempts": sum(s["mean_attempts"] for s in items) / len(items),
        }
        if len({len(s["curve"]) for s in items}) == 1:
            out[arm]["curve"] = averaged_curve([s["curve"] for s in items])
    for arm in tested:
        for base in baselines:
            shared = [p for p in samples if arm in samples[p] and base in samples[p]]
            lengths = {len(per_problem[p]["arms"][arm]["curve"]) for p in shared}
            if shared and len(lengths) == 1:
                out[arm].setdefault("vs", {})[base] = averaged_ratio(
                    [samples[p][base] for p in shared], [samples[p][arm] for p in shared], seed
                )
    return out
