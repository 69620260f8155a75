"""`sdpo compare --ray` on a local Ray runtime (2 CPUs): the same results as local mode,
crashed workers retried, persistent failures reported."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROBLEMS, ROOT

from sdpo_cli.compare.analysis import analyse, load_runs
from sdpo_cli.compare.arms import parse_arms
from sdpo_cli.compare.jobs import plan
from sdpo_cli.compare.local import run_local

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray not installed")
HERE = str(Path(__file__).parent)


@pytest.fixture(scope="module")
def ray_runtime():
    import ray

    os.environ["PYTHONPATH"] = os.pathsep.join([HERE, str(ROOT), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def jobs_for(tiny_model_dir, methods=("sdpo", "bestofk", "multiturn"), seeds=2):
    base = {"budget": 8, "batch": 4, "model": str(tiny_model_dir), "max_new_tokens": 64}
    return plan(
        [(str(PROBLEMS / "reverse-string.json"), "reverse-string")],
        parse_arms(",".join(methods)),
        seeds,
        base,
        pool=12,
        pool_batch=4,
        context_tokens=512,
    )


def outcomes(out):
    return sorted(
        (r["method"], r["seed"], r["solved"], r["attempts_to_solve"], r["attempts"], r["passes"])
        for r in load_runs(out)
    )


def test_ray_matches_local_mode(ray_runtime, tiny_model_dir, tmp_path):
    from ray_helpers import scripted

    from sdpo_cli.compare.on_ray import run_on_ray

    jobs = jobs_for(tiny_model_dir)
    run_local(jobs, tmp_path / "local", sampler=scripted())
    seen = []
    failed = run_on_ray(
        jobs, tmp_path / "ray", "local", progress=seen.append, sampler_factory=scripted
    )
    assert failed == [] and seen[-1]["done"] == len(jobs) and seen[-1]["failed"] == 0
    assert outcomes(tmp_path / "ray") == outcomes(tmp_path / "local")
    local = analyse(load_runs(tmp_path / "local"))["problems"]["reverse-string"]["arms"]
    remote = analyse(load_runs(tmp_path / "ray"))["problems"]["reverse-string"]["arms"]
    for method in local:
        assert remote[method]["curve"] == local[method]["curve"]
    local_run = json.loads((tmp_path / "local" / "jobs" / jobs[0].key / "run.json").read_text())
    ray_run = json.loads((tmp_path / "ray" / "jobs" / jobs[0].key / "run.json").read_text())
    assert set(ray_run) == set(local_run) and set(ray_run["result"]) == set(local_run["result"])
    # resume: all finished, nothing redone
    assert run_on_ray(jobs, tmp_path / "ray", "local", sampler_factory=scripted) == []


def test_a_crashed_worker_is_retried(ray_runtime, tiny_model_dir, tmp_path):
    from ray_helpers import DyingOnce

    from sdpo_cli.compare.on_ray import run_on_ray

    jobs = jobs_for(tiny_model_dir, methods=("multiturn",), seeds=1)
    failed = run_on_ray(
        jobs, tmp_path / "out", "local", sampler_factory=DyingOnce(str(tmp_path / "died"))
    )
    assert failed == [] and (tmp_path / "died").exists()
    assert len(load_runs(tmp_path / "out")) == 1


def test_a_job_that_keeps_failing_is_reported(ray_runtime, tiny_model_dir, tmp_path):
    from ray_helpers import DyingOnce

    from sdpo_cli.compare.on_ray import run_on_ray

    jobs = jobs_for(tiny_model_dir, methods=("multiturn",), seeds=1)
    failed = run_on_ray(
        jobs,
        tmp_path / "out",
        "local",
        max_retries=1,
        sampler_factory=DyingOnce(str(tmp_path / "died"), always=True),
    )
    assert failed == [jobs[0].key]


def test_missing_ray_is_exit_3(tmp_path):
    code = (
        "import builtins, sys\nreal = builtins.__import__\n"
        "def fake(name, *a, **k):\n    if name == 'ray':\n        raise ImportError(name)\n"
        "    return real(name, *a, **k)\nbuiltins.__import__ = fake\n"
        "sys.argv = ['sdpo', 'compare', %r, '--ray', 'local', '--out', %r]\n"
        "from sdpo_cli.cli.main import run\nrun()\n"
    ) % (str(PROBLEMS / "reverse-string.json"), str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 3 and "error: Ray is not installed" in result.stderr
    assert "pip install 'sdpo-cli[ray]'" in result.stderr
