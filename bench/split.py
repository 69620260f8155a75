"""Split a calibrated frontier into a tuning set and an evaluation set
(bench/EXPERIMENTS.md): problems shipped in problems/ go to tuning; the others, sorted by
problem id, alternate, the first to tuning, the second to evaluation. The evaluation set
is for one run, after the defaults are set.

    python bench/split.py frontier/ --tuning tuning/ --evaluation evaluation/
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "problems"


def split(files: list[Path], shipped: set[str]) -> tuple[list[Path], list[Path]]:
    """(tuning, evaluation) files; `shipped`: the shipped problems' ids."""
    by_id = sorted(files, key=lambda f: json.loads(f.read_text(encoding="utf-8"))["id"])
    ids = {f: json.loads(f.read_text(encoding="utf-8"))["id"] for f in by_id}
    imported = [f for f in by_id if ids[f] not in shipped]
    tuning = [f for f in by_id if ids[f] in shipped] + imported[0::2]
    return tuning, imported[1::2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("frontier", type=Path)
    parser.add_argument("--tuning", type=Path, required=True)
    parser.add_argument("--evaluation", type=Path, required=True)
    args = parser.parse_args()
    shipped = {json.loads(f.read_text(encoding="utf-8"))["id"] for f in SHIPPED.glob("*.json")}
    tuning, evaluation = split(sorted(args.frontier.glob("*.json")), shipped)
    for folder, files in ((args.tuning, tuning), (args.evaluation, evaluation)):
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(f, folder / f.name)
        print(f"{folder}: {', '.join(f.stem for f in files)}")


if __name__ == "__main__":
    main()
