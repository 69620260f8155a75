"""Render a compare's analysis: rows for tables, a markdown report and a PNG plot.
Pure formatting of analysis.analyse() output; the CLI decides where it goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .analysis import AXES


def _ci(values) -> str:
    low, high = values
    return "" if low is None else f" [{low:.2f}, {high:.2f}]"


def _ratio_text(by_level: dict[str, float | None]) -> str:
    """The ratio at p = 0.5 when both methods reach it, else at the highest level both
    reach, e.g. 'x1.50 @ p=0.40' (>1: SDPO needs fewer attempts)."""
    known = {float(p): r for p, r in by_level.items() if r is not None}
    if not known:
        return "-"
    level = 0.5 if 0.5 in known else max(known)
    return f"x{known[level]:.2f} @ p={level:.2f}"


def rows(analysis: dict[str, Any]) -> list[list[str]]:
    """One row per problem and method: the numbers of the tables."""
    table = []
    for pid, stats in analysis["problems"].items():
        budget = stats["budget"]
        for name, s in stats["methods"].items():
            runs = (
                f"pool {s['pool']} ({s['pool_passes']} pass)"
                if "pool" in s
                else f"{s['solved_runs']}/{s['runs']} solved"
            )
            median = s["median_attempts"]
            ratios = ", ".join(
                f"{base} {_ratio_text(r)}" for base, r in s.get("ratio_vs", {}).items()
            )
            table.append(
                [
                    pid,
                    name,
                    runs,
                    f"{s['discovery_at_budget']:.2f}{_ci(s['ci90']['discovery_at_budget'])}",
                    f"{s['mean_attempts']:.1f}{_ci(s['ci90']['mean_attempts'])}",
                    f">{budget}" if median is None else str(median),
                    ratios or "-",
                ]
            )
    return table


HEADER = [
    "problem",
    "method",
    "runs",
    "discovery@B [90% CI]",
    "mean attempts (trunc. at B) [90% CI]",
    "median",
    "attempts ratio vs baseline (x k_base/k_sdpo @ p)",
]


def markdown(analysis: dict[str, Any], settings: dict[str, Any]) -> str:
    lines = [
        "# sdpo compare",
        "",
        f"Budget {settings.get('budget')} attempts, {settings.get('seeds')} seeds, batch "
        f"{settings.get('batch')}, model {settings.get('model')}, "
        f"backend {settings.get('backend')}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows(analysis)]
    lines += [
        "",
        "## Aggregate (mean over problems)",
        "",
        "| method | problems | discovery@B | mean attempts |",
        "|---|---|---|---|",
    ]
    for name, a in analysis["aggregate"].items():
        lines.append(
            f"| {name} | {a['problems']} | {a['mean_discovery_at_budget']:.2f} "
            f"| {a['mean_attempts']:.1f} |"
        )
    lines += [
        "",
        "Discovery@k for sequential methods is a Kaplan-Meier curve over seeds (unsolved runs "
        "censored at the budget); best-of-k is the unbiased pass@k of one pool. Intervals are 90% "
        "bootstrap percentiles. Curves against tokens generated, tokens processed and wall seconds "
        "are in report.json.",
        "",
        "![discovery curves](discovery.png)",
        "",
    ]
    return "\n".join(lines)


def plot(analysis: dict[str, Any], path: Path, axis: str = "attempts") -> Path | None:
    """discovery@k curves with 90% bands, one panel per problem; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    problems = list(analysis["problems"].items())
    cols = min(4, len(problems)) or 1
    rows_ = (len(problems) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows_, cols, figsize=(4 * cols, 3.2 * rows_), squeeze=False)
    for ax, (pid, stats) in zip(axes.flat, problems):
        for name, s in stats["methods"].items():
            if axis == "attempts":
                x = list(range(len(s["curve"])))
                (line,) = ax.step(x, s["curve"], where="post", label=name)
                ax.fill_between(
                    x, s["band"][0], s["band"][1], step="post", alpha=0.2, color=line.get_color()
                )
            else:
                curve = s["cost_curves"][axis]
                ax.step(curve["grid"], curve["discovery"], where="post", label=name)
        ax.set_title(pid, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(axis if axis != "attempts" else "attempts k")
        ax.set_ylabel("discovery@k")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(problems) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(analysis: dict[str, Any], settings: dict[str, Any], out: Path) -> dict[str, str]:
    """report.md, report.json and the PNG plots in `out`; returns their paths."""
    import json

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
