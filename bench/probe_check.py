"""Check `sdpo probe`'s recommendations against what `sdpo compare` measured.

Reads a probe JSON (`sdpo probe ... --json > probe.json`) and the report.json of two
compare output directories: the tuning set's and the evaluation set's. The winner of a
problem is the method with the fewest mean attempts to first success (truncated at the
budget); problems where no method found a solution, or where the best two are within
`--tie` attempts, have no winner and are left out of the match rate. The rule's
thresholds are fitted on the tuning set (grid search for the most matches; ties keep the
default rule) and the match rate is reported on the evaluation set, next to the default
rule's.

    python bench/probe_check.py probe.json tuning-compare/ evaluation-compare/ [--tie 1.0]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from sdpo_cli.methods.probe import DEFAULT_RULE, Rule, recommend


def winner(methods: dict, tie: float) -> str | None:
    """The arm with the fewest mean attempts, unless nothing was solved or the best two
    are within `tie`."""
    ranked = sorted(methods.items(), key=lambda item: item[1]["mean_attempts"])
    best, budget_runs = ranked[0], all(m["discovery_at_budget"] == 0 for _, m in ranked)
    if budget_runs or (
        len(ranked) > 1 and ranked[1][1]["mean_attempts"] - best[1]["mean_attempts"] < tie
    ):
        return None
    return best[0]


def matches(rule: Rule, probes: dict, winners: dict, ids: list[str]) -> tuple[int, int]:
    scored = [pid for pid in ids if winners.get(pid)]
    return sum(recommend(probes[pid], rule)[0] == winners[pid] for pid in scored), len(scored)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("probe_json")
    parser.add_argument("tuning_compare_dir")
    parser.add_argument("evaluation_compare_dir")
    parser.add_argument("--tie", type=float, default=1.0)
    args = parser.parse_args()
    probes = json.loads(Path(args.probe_json).read_text())["problems"]
    halves = []
    winners = {}
    for folder in (args.tuning_compare_dir, args.evaluation_compare_dir):
        report = json.loads((Path(folder) / "report.json").read_text())
        found = {pid: winner(stats["arms"], args.tie) for pid, stats in report["problems"].items()}
        winners.update(found)
        halves.append(sorted(set(probes) & set(found)))
    tune, test = halves
    ids = tune + test
    grid = itertools.product([0.1, 0.25, 0.5], [-0.1, 0.0, 0.1], [-0.02, 0.0, 0.02, 0.05])
    rules = [Rule(easy_pass_rate=e, pass_gain=p, logprob_gain=g) for e, p, g in grid]
    best = max(rules, key=lambda r: (matches(r, probes, winners, tune)[0], r == DEFAULT_RULE))
    print(f"{'problem':<24} {'winner':<10} {'probe says':<10} {'tuned rule':<10} half")
    for pid in ids:
        print(
            f"{pid:<24} {winners[pid] or '(none)':<10} {recommend(probes[pid])[0]:<10} "
            f"{recommend(probes[pid], best)[0]:<10} {'tune' if pid in tune else 'test'}"
        )
    for name, rule in (("default rule", DEFAULT_RULE), ("tuned rule", best)):
        for half, members in (("tuning set", tune), ("evaluation", test)):
            hit, scored = matches(rule, probes, winners, members)
            print(f"{name:<13} {half:<12} matched {hit}/{scored} problems with a winner")
    print(f"tuned thresholds: {best}")


if __name__ == "__main__":
    main()
