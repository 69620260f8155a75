"""`sdpo solve` as a user runs it (subprocess): JSON, exit codes, inline problems,
resume after a hard kill, Ctrl-C, and bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import PROBLEMS, ROOT
from sandbox_programs import processes_with

SLOW_FAIL = (
    "python3 -c \"import sys,time; sys.stdin.read(); time.sleep(0.15); print('not yet'); "
    'sys.exit(1)"'
)


def sdpo_cmd(*args):
    return [sys.executable, "-m", "sdpo_cli", *map(str, args)]


def run(*args, timeout=300):
    return subprocess.run(
        sdpo_cmd(*args), capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def tiny_args(model_dir, out, budget=8, batch=4):
    return [
        "--model",
        model_dir,
        "--backend",
        "hf",
        "--max-new-tokens",
        "12",
        "--budget",
        budget,
        "--batch",
        batch,
        "--out",
        out,
    ]


def test_inline_problem_unsolved_json_and_exit_1(tmp_path, tiny_model_dir):
    result = run(
        "solve",
        "--prompt",
        "Say anything.",
        "--verify-command",
        SLOW_FAIL,
        *tiny_args(tiny_model_dir, tmp_path / "r"),
        "--json",
    )
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert doc["schema_version"] == 1 and doc["solved"] is False and doc["attempts"] == 8
    assert doc["attempts_to_solve"] is None and doc["rounds"] == 2 and doc["backend"] == "hf"
    assert doc["tokens"]["generated"] > 0 and doc["config"]["budget"] == 8
    assert len(doc["rounds_metrics"]) == 1 and doc["rounds_metrics"][0]["active_attempts"] == 4
    lines = (tmp_path / "r" / "attempts.jsonl").read_text().splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["verdict"]["feedback"].endswith("\nnot yet")
    assert "round 1 | 4/8 attempts" in result.stderr


def test_inline_problem_solved_by_command(tmp_path, tiny_model_dir):
    result = run(
        "solve",
        "--prompt",
        "Say anything.",
        "--verify-command",
        "true",
        *tiny_args(tiny_model_dir, tmp_path / "r"),
        "--json",
    )
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["solved"] and doc["attempts_to_solve"] == 1
    assert (tmp_path / "r" / "solution.txt").read_text() == doc["solution"]


def wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_resume_after_hard_kill_loses_and_repeats_nothing(tmp_path, tiny_model_dir):
    out = tmp_path / "r"
    args = [
        "solve",
        "--prompt",
        "Say anything.",
        "--verify-command",
        SLOW_FAIL,
        *tiny_args(tiny_model_dir, out, budget=20, batch=4),
    ]
    proc = subprocess.Popen(
        sdpo_cmd(*args), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    attempts = out / "attempts.jsonl"
    assert wait_for(
        lambda: (
            (out / "state" / "trainer.pt").exists()
            and attempts.exists()
            and len(attempts.read_text().splitlines()) >= 6
        )
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(attempts.read_text().splitlines())
    assert killed_at < 20
    assert json.loads((out / "run.json").read_text())["status"] == "started"
    result = run("solve", "--resume", out, "--json")
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in attempts.read_text().splitlines()]
    assert [r["index"] for r in records] == list(range(1, 21))
    assert json.loads(result.stdout)["attempts"] == 20
    versions = [r["policy_version"] for r in records]
    assert versions == sorted(versions) and versions[-1] == 4  # updates after rounds 1-4
    assert json.loads((out / "run.json").read_text())["status"] == "unsolved"
    again = run("solve", "--resume", out, "--json")  # a finished run just reports
    assert again.returncode == 1 and json.loads(again.stdout)["attempts"] == 20


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_marks_cancelled_exits_128_plus_it_and_leaves_no_child(
    tmp_path, tiny_model_dir, signum, code
):
    out = tmp_path / "r"
    marker = f"sdpo-checker-{os.getpid()}-{signum}"
    checker = (
        f'python3 -c "import sys,time; sys.stdin.read(); time.sleep(0.5); sys.exit(1)" {marker}'
    )
    args = [
        "solve",
        "--prompt",
        "Say anything.",
        "--verify-command",
        checker,
        *tiny_args(tiny_model_dir, out, budget=200, batch=4),
    ]
    proc = start_like_a_terminal(args)
    assert wait_for(lambda: (out / "attempts.jsonl").exists())
    assert wait_for(lambda: processes_with(marker), timeout=60)  # mid-verification
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert f"error: interrupted ({signal.Signals(signum).name})" in stderr.decode()
    assert json.loads((out / "run.json").read_text())["status"] == "cancelled"
    assert "Traceback" not in stderr.decode()
    assert not processes_with(marker)


def slow_problem(tmp_path, marker: str):
    """A problem whose checker takes half a second and always fails, its command line
    marked so that a test can see whether it still runs."""
    checker = f"import sys, time; sys.stdin.read(); time.sleep(0.5); sys.exit(1)  # {marker}"
    path = tmp_path / "slow.json"
    verifier = {"kind": "command", "command": ["python3", "-c", checker]}
    path.write_text(json.dumps({"id": "slow", "prompt": "Say anything.", "verifier": verifier}))
    return path


def start_like_a_terminal(args: list) -> subprocess.Popen:
    """Start sdpo as from a terminal. A shell that starts jobs in the background makes
    them ignore SIGINT, and Python then installs no KeyboardInterrupt handler: restore
    the default, as a terminal has it."""
    return subprocess.Popen(
        sdpo_cmd(*args),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["solve"], "error: no problem given"),
        (
            ["solve", "problems/reverse-string.json", "--teacher", "nope"],
            "error: --teacher = 'nope' is out of range (one of ema",
        ),
        (
            ["solve", "problems/reverse-string.json", "--alpha", "2"],
            "error: --alpha = 2.0 is out of range",
        ),
        (["solve", "missing.json"], "error: problem file not found (missing.json)"),
        (["solve", "--prompt", "x"], "error: an inline problem needs --verify-command"),
    ],
)
def test_bad_input_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_unknown_model_exit_3(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        sdpo_cmd(
            "solve",
            PROBLEMS / "reverse-string.json",
            "--model",
            "nobody/no-such-model",
            "--out",
            tmp_path / "r",
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 3
    assert "error: model 'nobody/no-such-model' is not available offline" in result.stderr
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "error"


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_compare_mid_job(tmp_path, tiny_model_dir, signum, code):
    """The compare stops at once: the running job is marked cancelled, no later job
    starts, and no checker is left running."""
    marker = f"sdpo-compare-checker-{os.getpid()}-{signum}"
    problem = slow_problem(tmp_path, marker)
    out = tmp_path / "cmp"
    args = [
        "compare",
        problem,
        "--model",
        tiny_model_dir,
        "--backend",
        "hf",
        "--max-new-tokens",
        "12",
        "--budget",
        "40",
        "--batch",
        "4",
        "--seeds",
        "2",
        "--methods",
        "multiturn",
        "--baselines",
        "",
        "--out",
        out,
    ]
    proc = start_like_a_terminal(args)
    assert wait_for(lambda: processes_with(marker), timeout=90)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    jobs = sorted((out / "jobs").iterdir())
    assert [j.name for j in jobs] == ["slow__multiturn__s0"]  # the second job never started
    assert json.loads((jobs[0] / "run.json").read_text())["status"] == "cancelled"
    assert not processes_with(marker)


def test_a_signal_stops_a_probe(tmp_path, tiny_model_dir):
    marker = f"sdpo-probe-checker-{os.getpid()}"
    problem = slow_problem(tmp_path, marker)
    args = [
        "probe",
        problem,
        "--model",
        tiny_model_dir,
        "--backend",
        "hf",
        "--max-new-tokens",
        "12",
        "--samples",
        "64",
    ]
    proc = start_like_a_terminal(args)
    assert wait_for(lambda: processes_with(marker), timeout=90)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143 and b"error: interrupted (SIGTERM)" in stderr
    assert not processes_with(marker)
