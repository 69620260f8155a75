"""`sdpo compare` end to end on the scripted backend (tiny model for the SDPO updates):
jobs, resume without redoing finished jobs, analysis and reports; plus `sdpo report`."""

import json
import os
import subprocess
import sys

import pytest
from conftest import PROBLEMS, ROOT

from sdpo_cli import metrics as M
from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.compare.analysis import analyse, load_runs
from sdpo_cli.compare.arms import parse_arms
from sdpo_cli.compare.jobs import pending, plan
from sdpo_cli.compare.local import run_local
from sdpo_cli.compare.report import write_all
from sdpo_cli.methods.attempts import round_seed

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


def script(seed: int, position: int, prompt_ids) -> str:
    return RIGHT if (seed + position) % 7 == 0 else WRONG


def scripted_outcomes(seed: int, rounds: int, stream: str, batch: int = 4) -> list[bool]:
    """What `script` yields for a job's attempts, round by round (round seeds as the
    methods draw them, each arm from its own stream)."""
    return [
        (round_seed(seed, r, stream=stream) + j) % 7 == 0
        for r in range(1, rounds + 1)
        for j in range(batch)
    ]


def first_pass(outcomes: list[bool]):
    return outcomes.index(True) + 1 if True in outcomes else None


@pytest.fixture
def compare_out(tmp_path, tiny_model_dir):
    base = {"budget": 8, "batch": 4, "model": str(tiny_model_dir), "max_new_tokens": 64}
    problem = str(PROBLEMS / "reverse-string.json")
    jobs = plan(
        [(problem, "reverse-string")],
        parse_arms("sdpo,bestofk,multiturn"),
        seeds=2,
        base=base,
        pool=12,
        pool_batch=4,
        context_tokens=512,
    )
    out = tmp_path / "cmp"
    (out).mkdir()
    (out / "compare.json").write_text(
        json.dumps(
            {
                "budget": 8,
                "seeds": 2,
                "batch": 4,
                "model": "tiny",
                "backend": "scripted",
                "jobs": [j.to_json() for j in jobs],
            }
        )
    )
    return jobs, out


def test_compare_jobs_analysis_and_resume(compare_out, tiny_model_dir):
    jobs, out = compare_out
    assert [j.key for j in jobs] == [
        "reverse-string__sdpo__s0",
        "reverse-string__sdpo__s1",
        "reverse-string__bestofk__s0",
        "reverse-string__multiturn__s0",
        "reverse-string__multiturn__s1",
    ]
    sampler = ScriptedSampler(script)
    seen = []
    assert run_local(jobs, out, sampler=sampler, progress=seen.append) == 5
    assert seen[-1]["done"] == 5 and seen[0]["queued"] == 5
    runs = {(r["arm"], r["seed"]): r for r in load_runs(out)}
    firsts = {
        arm: [first_pass(scripted_outcomes(seed, 2, arm)) for seed in (0, 1)]
        for arm in ("sdpo", "multiturn")
    }
    assert firsts["sdpo"] != firsts["multiturn"]  # own streams: not the same first rounds
    for arm in ("sdpo", "multiturn"):
        assert [runs[(arm, seed)]["attempts_to_solve"] for seed in (0, 1)] == firsts[arm]
    pool_passes = sum(scripted_outcomes(0, 3, "bestofk"))
    pool = runs[("bestofk", 0)]
    assert pool["attempts"] == 12 and pool["passes"] == pool_passes
    analysis = analyse(load_runs(out))
    stats = analysis["problems"]["reverse-string"]["arms"]
    assert stats["bestofk"]["curve"] == pytest.approx(M.pass_curve(12, pool_passes, 8))
    assert stats["sdpo"]["curve"] == pytest.approx(M.discovery_curve(firsts["sdpo"], 8))
    mean = sum(f or 8 for f in firsts["sdpo"]) / 2
    assert stats["sdpo"]["mean_attempts"] == pytest.approx(mean)
    assert set(stats["sdpo"]["vs"]) == {"bestofk", "multiturn"}
    assert set(stats["sdpo"]["cost_curves"]) == {"tokens_generated", "tokens_processed", "seconds"}
    assert not list((out / "jobs").glob("*/state"))  # compare jobs keep no training checkpoints
    record = json.loads((out / "jobs" / "reverse-string__sdpo__s0" / "run.json").read_text())
    assert record["dtype"]["dtype"] in ("bfloat16", "float32") and record["dtype"]["why"]
    assert "cpu_flags" in record["dtype"]  # which host ran the job, for runs across machines
    # resume: nothing left to do, nothing redone
    assert pending(out, jobs) == [] and run_local(jobs, out, sampler=sampler) == 0
    files = write_all(analysis, {"budget": 8}, out)
    report = (out / "report.md").read_text()
    # one row per arm in the results table and in the per-round table
    assert report.count("| reverse-string |") == 6 and "## Attempts per round" in report
    assert "temperature 1.0, top-p 1.0" in report  # the sampling every arm ran at
    pool_rounds = stats["bestofk"]["per_round"]  # the pool of 12, drawn in batches of 4
    assert [r["round"] for r in pool_rounds] == [1, 2, 3] and all(
        r["runs"] == 1 for r in pool_rounds
    )
    assert set(analysis["cost"]) == {"sdpo", "bestofk", "multiturn"}
    assert "plot" in files and (out / "discovery.png").stat().st_size > 1000


def test_half_finished_job_is_redone(compare_out):
    jobs, out = compare_out
    broken = out / "jobs" / jobs[0].key
    broken.mkdir(parents=True)
    (broken / "run.json").write_text(json.dumps({"status": "started"}))
    assert [j.key for j in pending(out, jobs)] == [j.key for j in jobs]
    assert not broken.exists()


def test_report_command_rerenders_from_logs(compare_out):
    jobs, out = compare_out
    run_local(jobs, out, sampler=ScriptedSampler(script))
    result = subprocess.run(
        [sys.executable, "-m", "sdpo_cli", "report", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kind"] == "compare" and doc["problems"]["reverse-string"]["budget"] == 8
    assert doc["tested"] == ["sdpo"] and doc["aggregate"]["sdpo"]["problems"] == 1
    # another arm under test: every other arm, sdpo included, becomes its baseline
    report = [sys.executable, "-m", "sdpo_cli", "report", str(out), "--json", "--tested"]
    result = subprocess.run(report + ["multiturn"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["tested"] == ["multiturn"] and set(doc["baselines"]) == {"sdpo", "bestofk"}
    vs = doc["problems"]["reverse-string"]["arms"]["multiturn"]["vs"]
    assert set(vs) == {"sdpo", "bestofk"}
    result = subprocess.run(report + ["sdpo[hybrid=0.5]"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "sdpo[hybrid=0.5]" in result.stderr


def test_compare_rejects_pool_below_budget_unknown_method_and_no_tokens():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sdpo_cli",
            "compare",
            str(PROBLEMS),
            "--budget",
            "8",
            "--pool",
            "4",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "--pool = 4 is smaller than --budget = 8" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "sdpo_cli", "compare", str(PROBLEMS), "--baselines", "magic"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "unknown method 'magic'" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "sdpo_cli", "compare", str(PROBLEMS), "--max-new-tokens", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (
        result.returncode == 2
        and "--max-new-tokens = 0 is out of range (at least 1)" in result.stderr
    )


def test_report_table_prints_arm_labels_with_their_brackets(tmp_path, tiny_model_dir):
    """An arm's label is printed as written: its brackets are not read as rich styles."""
    base = {"budget": 8, "batch": 4, "model": str(tiny_model_dir), "max_new_tokens": 64}
    problem = str(PROBLEMS / "reverse-string.json")
    arms = parse_arms("multiturn[batch=2],bestofk")
    jobs = plan([(problem, "reverse-string")], arms, 2, base, 12, 4, 512)
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "compare.json").write_text(json.dumps({"budget": 8, "seeds": 2, "tested": []}))
    run_local(jobs, out, sampler=ScriptedSampler(script))
    result = subprocess.run(
        [sys.executable, "-m", "sdpo_cli", "report", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "multiturn[batch=2]" in result.stdout
