"""The benchmark scripts that cannot run in full here still run: the GPU check at toy
size on the CPU, through the same code path (model built from a config, rounds of both
kinds, figures printed as JSON). No timing is asserted."""

import json
import subprocess
import sys

from conftest import ROOT


def test_the_gpu_check_runs_at_toy_size():
    result = subprocess.run(
        [
            sys.executable,
            "bench/gpu_check.py",
            "--shape",
            "tiny",
            "--backend",
            "hf",
            "--rounds",
            "1",
            "--batch",
            "2",
            "--max-new-tokens",
            "8",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["shape"] == "tiny" and figures["backend"] == "hf"
    assert figures["sampling_tokens_per_s"] > 0 and figures["sdpo_round_s"] > 0
    assert figures["sampler_gap"] < 0.2


def test_the_frontier_split_keeps_shipped_problems_for_tuning_and_alternates_the_rest(tmp_path):
    frontier = tmp_path / "frontier"
    frontier.mkdir()
    for pid in ("reverse-string", "HumanEval-41", "HumanEval-2", "HumanEval-23", "HumanEval-7"):
        (frontier / f"{pid}.json").write_text(json.dumps({"id": pid}))
    result = subprocess.run(
        [
            sys.executable,
            "bench/split.py",
            str(frontier),
            "--tuning",
            str(tmp_path / "t"),
            "--evaluation",
            str(tmp_path / "e"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # imported ids sorted: HumanEval-2, -23, -41, -7; first, third to tuning
    assert sorted(p.stem for p in (tmp_path / "t").iterdir()) == [
        "HumanEval-2",
        "HumanEval-41",
        "reverse-string",
    ]
    assert sorted(p.stem for p in (tmp_path / "e").iterdir()) == ["HumanEval-23", "HumanEval-7"]
