"""`sdpo calibrate` on the scripted backend: pass counts recorded in the problem files,
difficulty labels, resuming without resampling, and the frontier selection."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import PROBLEMS, ROOT, run_sdpo

from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.config import solve_config
from sdpo_cli.methods.calibrate import (
    calibrate,
    choose_setting,
    difficulty,
    record_calibration,
    recorded,
    select,
)
from sdpo_cli.methods.engine import load_engine
from sdpo_cli.problem import load_problem
from sdpo_cli.verifiers.registry import load_checked

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


@pytest.mark.parametrize(
    "passes,label", [(8, "easy"), (4, "medium"), (1, "hard"), (0, "unsolved"), (3, "hard")]
)
def test_difficulty_bands_of_32(passes, label):
    assert difficulty(passes, 32) == label


def test_a_pool_is_counted_recorded_and_not_resampled(tmp_path, tiny_model_dir):
    path = tmp_path / "reverse-string.json"
    shutil.copy(PROBLEMS / "reverse-string.json", path)
    path.chmod(0o644)
    # every 4th attempt of a call passes: 5 of 20 in batches of 8, 8, 4
    sampler = ScriptedSampler(lambda seed, position, prompt: RIGHT if position % 4 == 0 else WRONG)
    config = solve_config(model=str(tiny_model_dir))
    engine = load_engine(config, sampler=sampler)
    problem, verifier = load_checked(path)
    record = calibrate(
        engine, problem, verifier, config, samples=20, temperature=0.7, top_p=0.9, batch=8
    )
    assert (record["passes"], record["samples"], record["temperature"]) == (5, 20, 0.7)
    assert record["top_p"] == 0.9 and sampler.calls == 20
    record_calibration(path, record, label_from_it=True)
    again = load_problem(path)
    assert again.metadata["difficulty"] == "easy" and again.metadata["family"] == "python-function"
    assert recorded(again, str(tiny_model_dir), 20, 0.7, 0.9) == record
    assert recorded(again, str(tiny_model_dir), 20, 1.0, 0.9) is None
    assert recorded(again, str(tiny_model_dir), 20, 0.7, 1.0) is None
    assert path.stat().st_mode & 0o777 == 0o644  # the user's file keeps its permissions
    record_calibration(path, {**record, "passes": 1}, label_from_it=True)  # same key: replaced
    assert [r["passes"] for r in load_problem(path).metadata["calibration"]] == [1]


def test_a_record_without_top_p_is_one_at_1(tmp_path):
    path = tmp_path / "p.json"
    shutil.copy(PROBLEMS / "reverse-string.json", path)
    old = {"model": "m", "samples": 8, "passes": 2, "temperature": 1.0, "date": "2026-11-26"}
    record_calibration(path, old, label_from_it=False)
    assert recorded(load_problem(path), "m", 8, 1.0, 1.0) == {**old, "top_p": 1.0}
    record_calibration(path, {**old, "top_p": 1.0, "passes": 3}, label_from_it=False)
    assert [r["passes"] for r in load_problem(path).metadata["calibration"]] == [3]


def test_the_chosen_setting_puts_the_most_problems_in_the_band():
    """Three problems at three settings, band 1-6: temperature 0.7 has two in the band
    (2 and 6 passes), 1.0 has one, 0.5 has two but loses the tie to the hotter 0.7."""
    passes = {(0.5, 1.0): [1, 9, 3], (0.7, 1.0): [2, 9, 6], (1.0, 1.0): [0, 4, 0]}
    results = [
        {"temperature": t, "top_p": p, "passes": n}
        for (t, p), counts in passes.items()
        for n in counts
    ]
    assert choose_setting(results, 1, 6) == {
        "temperature": 0.7,
        "top_p": 1.0,
        "in_band": 2,
        "band": [1, 6],
    }
    assert choose_setting(results, 9, 9)["temperature"] == 0.7  # tie of 1: the hottest


def test_select_copies_the_band(tmp_path):
    paths = [tmp_path / f"{name}.json" for name in "abc"]
    for path in paths:
        path.write_text("{}")
    records = {
        str(paths[0]): {"passes": 0},
        str(paths[1]): {"passes": 3},
        str(paths[2]): {"passes": 9},
    }
    assert select(paths, records, 1, 6, tmp_path / "frontier") == ["b.json"]
    assert sorted(p.name for p in (tmp_path / "frontier").iterdir()) == ["b.json"]


@pytest.mark.parametrize(
    "args,words",
    [
        (["--select", "6-1", "--into", "x"], "--select '6-1' is not a range"),
        (["--into", "x"], "--into needs --select LOW-HIGH"),
        (["--temperatures", "hot"], "--temperatures 'hot' is not a list of numbers"),
        (["--top-ps", "1.5"], "--top-p = 1.5 is out of range"),
    ],
)
def test_bad_options_exit_2(args, words):
    result = run_sdpo("calibrate", str(PROBLEMS / "reverse-string.json"), *args)
    assert result.returncode == 2 and words in result.stderr


def test_end_to_end_with_the_tiny_model(tmp_path, tiny_model_dir):
    """The command on two copied problems: both calibrated, recorded, a second run only
    reads the records (no model is loaded), and --select copies by pass count."""
    for name in ("reverse-string", "stdin-sum"):
        shutil.copy(PROBLEMS / f"{name}.json", tmp_path / f"{name}.json")
    args = [
        sys.executable,
        "-m",
        "sdpo_cli",
        "calibrate",
        str(tmp_path),
        "--model",
        str(tiny_model_dir),
        "--backend",
        "hf",
        "--samples",
        "4",
        "--max-new-tokens",
        "8",
        "--json",
    ]
    first = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert first.returncode == 0, first.stderr
    results = json.loads(first.stdout)["results"]
    assert [r["problem"] for r in results] == ["reverse-string", "stdin-sum"]
    assert all(r["samples"] == 4 and r["passes"] == 0 for r in results)  # a random model
    assert load_problem(tmp_path / "stdin-sum.json").metadata["difficulty"] == "unsolved"
    second = subprocess.run(
        args + ["--select", "0-0", "--into", str(tmp_path / "f")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert second.returncode == 0 and "calibrating" not in second.stderr
    chosen = json.loads(second.stdout)
    assert chosen["selected"] == ["reverse-string.json", "stdin-sum.json"]
    assert chosen["chosen"] == {"temperature": 1.0, "top_p": 1.0, "in_band": 2, "band": [0, 0]}
    # a third call adds a setting; the choice is among every setting on record (a tie of
    # 2 and 2: the hotter 1.0, which this call did not sample)
    third = subprocess.run(
        args + ["--temperatures", "0.5", "--select", "0-0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert third.returncode == 0 and "calibrating reverse-string at temperature 0.5" in third.stderr
    assert json.loads(third.stdout)["chosen"]["temperature"] == 1.0
