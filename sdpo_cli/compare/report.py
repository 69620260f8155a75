"""Render a compare's analysis: rows for tables, a markdown report and PNG plots.
Pure formatting of analysis.analyse() output; the CLI decides where it goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .analysis import AXES

LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (1, 1)), (0, (3, 1, 1, 1, 1, 1)))


def _number(value, digits: int = 2) -> str:
    return value if isinstance(value, str) else f"{value:.{digits}f}"


def _ci(values, digits: int = 2) -> str:
    low, high = values
    return "" if low is None else f" [{_number(low, digits)}, {_number(high, digits)}]"


def ratio_text(result: dict[str, Any]) -> str:
    """'x1.50 [0.80, 2.70] @ p=0.50' (> 1: the arm needs fewer attempts), or '-'."""
    read = result.get("headline")
    if read is None:
        return "-"
    low, high = read["ci90"]
    return f"x{read['ratio']:.2f} [{low:.2f}, {high:.2f}] @ p={read['level']:.3g}"


def _runs(s: dict[str, Any]) -> str:
    if "pool" in s:
        return f"pool {s['pool']} ({s['pool_passes']} pass)"
    return f"{s['solved_runs']}/{s['runs']} solved"


def rows(analysis: dict[str, Any]) -> list[list[str]]:
    """One row per problem and arm: the numbers of the tables."""
    table = []
    for pid, stats in analysis["problems"].items():
        for arm, s in stats["arms"].items():
            versus = "; ".join(
                f"{base}: {ratio_text(r)} {r['verdict']}" for base, r in s.get("vs", {}).items()
            )
            table.append(
                [
                    pid,
                    arm,
                    _runs(s),
                    f"{s['discovery_at_budget']:.2f}{_ci(s['ci90']['discovery_at_budget'])}",
                    f"{s['mean_attempts']:.1f}{_ci(s['ci90']['mean_attempts'], 1)}",
                    f"{_number(s['median_attempts'], 0)}{_ci(s['ci90']['median_attempts'], 0)}",
                    versus or "-",
                ]
            )
    return table


HEADER = [
    "problem",
    "arm",
    "runs",
    "discovery@B [90% CI]",
    "mean attempts (trunc. at B) [90% CI]",
    "median [90% CI]",
    "vs baseline: k_base/k_arm [90% CI] @ p, verdict",
]


def power_lines(analysis: dict[str, Any]) -> list[str]:
    """One line per question-averaged ratio: what it shows, and whether it had the power."""
    lines = []
    for arm, a in analysis["aggregate"].items():
        for base, result in a.get("vs", {}).items():
            read = result.get("headline")
            if read is None:
                lines.append(f"- {arm} vs {base}: no level both curves reach; no ratio.")
                continue
            verdict = (
                f"underpowered: the interval spans 1; about {read['seeds_for_2x']} seeds per "
                "problem would likely be needed to see a 2x effect"
                if read["spans_one"]
                else "the interval excludes 1"
            )
            lines.append(f"- {arm} vs {base}: {ratio_text(result)}; {verdict}.")
    return lines


SHOWN_ROUNDS = 8


def round_lines(analysis: dict[str, Any]) -> list[str]:
    """Per problem and arm, each round's share of distinct and of well-formed attempts
    (mean over runs; best-of-k's rounds are its pool's batches)."""
    lines = [
        "## Attempts per round: distinct / well-formed",
        "",
        f"Shares of each round's attempts (first {SHOWN_ROUNDS} rounds; mean over runs): "
        "distinct texts, and attempts that did not fail on the answer's format.",
        "",
        "| problem | arm | " + " | ".join(f"r{i}" for i in range(1, SHOWN_ROUNDS + 1)) + " |",
        "|---|---|" + "---|" * SHOWN_ROUNDS,
    ]
    for pid, problem in analysis["problems"].items():
        for arm, s in problem["arms"].items():
            cells = [f"{r['distinct']:.2f} / {r['well_formed']:.2f}" for r in s["per_round"]]
            cells = (cells + ["-"] * SHOWN_ROUNDS)[:SHOWN_ROUNDS]
            lines.append(f"| {pid} | {arm} | " + " | ".join(cells) + " |")
    return lines


def markdown(analysis: dict[str, Any], settings: dict[str, Any]) -> str:
    lines = [
        "# sdpo compare",
        "",
        f"Budget {settings.get('budget')} attempts, {settings.get('seeds')} seeds per "
        f"sequential arm, best-of-k pools of {settings.get('pool')}, batch "
        f"{settings.get('batch')}, model {settings.get('model')}, "
        f"backend {settings.get('backend')}, temperature {settings.get('temperature', 1.0)}, "
        f"top-p {settings.get('top_p', 1.0)}. Design: {analysis['design']}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows(analysis)]
    lines += [
        "",
        "## Question-averaged (mean over problems)",
        "",
        "| arm | problems | discovery@B | mean attempts | vs baseline |",
        "|---|---|---|---|---|",
    ]
    for arm, a in analysis["aggregate"].items():
        versus = "; ".join(f"{b}: {ratio_text(r)}" for b, r in a.get("vs", {}).items())
        lines.append(
            f"| {arm} | {a['problems']} | {a['mean_discovery_at_budget']:.2f} "
            f"| {a['mean_attempts']:.1f} | {versus or '-'} |"
        )
    lines += ["", "## Power", "", *power_lines(analysis)]
    lines += ["", "## Cost", "", "| arm | attempts | wall seconds | seconds per attempt |"]
    lines.append("|---|---|---|---|")
    for arm, c in analysis["cost"].items():
        lines.append(
            f"| {arm} | {c['attempts']} | {c['seconds']} | {_number(c['seconds_per_attempt'])} |"
        )
    lines += ["", *round_lines(analysis)]
    lines += [
        "",
        "Discovery@k for sequential arms is a Kaplan-Meier curve over seeds (unsolved runs "
        "censored at the budget); best-of-k is the unbiased pass@k of one pool, for every k up "
        "to the budget. Intervals are 90% bootstrap percentiles; a statistic beyond the budget "
        f"reads '> B'. Verdict rule: {analysis['win_rule']}. Curves against tokens generated, "
        "tokens processed and wall seconds are in report.json and discovery-*.png.",
        "",
        "![discovery curves](discovery.png)",
        "",
        "![discovery against wall seconds](discovery-seconds.png)",
        "",
    ]
    return "\n".join(lines)


def _label(arm: str, s: dict[str, Any]) -> str:
    return f"{arm} (pool {s['pool']})" if "pool" in s else f"{arm} (n={s['runs']})"


def plot(analysis: dict[str, Any], path: Path, axis: str = "attempts") -> Path | None:
    """Discovery curves, one panel per problem: every arm in its own line style (curves
    that coincide stay visible), 90% bands, each run's first success as a point, and one
    legend with each arm's n outside the panels. None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    problems = list(analysis["problems"].items())
    arms = sorted({arm for _, stats in problems for arm in stats["arms"]})
    style = {arm: LINE_STYLES[i % len(LINE_STYLES)] for i, arm in enumerate(arms)}
    colors = {arm: f"C{i % 10}" for i, arm in enumerate(arms)}
    cols = min(3, len(problems)) or 1
    rows_ = (len(problems) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 3.2 * rows_), squeeze=False)
    handles = {}
    for ax, (pid, stats) in zip(axes.flat, problems):
        for arm, s in stats["arms"].items():
            look = {"color": colors[arm], "linestyle": style[arm], "linewidth": 1.6}
            if axis == "attempts":
                x = list(range(len(s["curve"])))
                (line,) = ax.step(x, s["curve"], where="post", label=_label(arm, s), **look)
                ax.fill_between(x, *s["band"], step="post", alpha=0.12, color=colors[arm])
                hits = [t for t in s.get("first_success", []) if t is not None]
                ax.plot(
                    hits, [s["curve"][t] for t in hits], "o", ms=4, color=colors[arm], alpha=0.8
                )
            else:
                curve = s["cost_curves"][axis]
                (line,) = ax.step(curve["grid"], curve["discovery"], where="post", **look)
            handles.setdefault(arm, (line, _label(arm, s)))
        ax.set_title(pid, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("attempts k" if axis == "attempts" else axis)
        ax.set_ylabel("discovery@k")
    for ax in list(axes.flat)[len(problems) :]:
        ax.axis("off")
    fig.legend(
        [h for h, _ in handles.values()],
        [label for _, label in handles.values()],
        loc="lower center",
        ncol=min(4, len(handles)),
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.08 + 0.03 * (len(handles) > 4), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(analysis: dict[str, Any], settings: dict[str, Any], out: Path) -> dict[str, str]:
    """report.md, report.json and the PNG plots in `out`; returns their paths."""
    out = Path(out)
    files = {"markdown": out / "report.md", "json": out / "report.json"}
    files["markdown"].write_text(markdown(analysis, settings))
    files["json"].write_text(json.dumps({"settings": settings, **analysis}, indent=1))
    png = plot(analysis, out / "discovery.png")
    if png:
        files["plot"] = png
        for axis in AXES:
            plot(analysis, out / f"discovery-{axis}.png", axis)
    return {k: str(v) for k, v in files.items()}
