"""Hostile attempts, checkers, problem files and run directories outside the sandbox:
each gets a clean verdict or a one-line error with its documented exit code, fast."""

import errno
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import PROBLEMS, ROOT, run_sdpo

from sdpo_cli.errors import ProblemError, RunError, VerifierError
from sdpo_cli.problem import load_problem
from sdpo_cli.runlog import RunLog, read_jsonl
from sdpo_cli.verifiers.base import MAX_ATTEMPT_CHARS
from sdpo_cli.verifiers.registry import build_verifier, load_checked

STALLS = {
    "1,536 newlines": "\n" * 1536,
    "4 KB of whitespace": " \t" * 2048,
    "10 MB of backticks": "`" * 10_000_000,
    "100k spaces after an answer label": "Answer:" + " " * 100_000 + "x",
    "open answer tags": "<answer>" * 100_000,
    "open boxes": "\\boxed{" * 100_000,
    "opening fences": "```python\n" * 50_000,
}


@pytest.mark.parametrize(
    "problem",
    [
        "multiply-17-23.json",
        "countdown-25-3-7.json",
        "sum-even-squares.json",
        "letters-in-strawberry.json",
    ],
)
@pytest.mark.parametrize("name", sorted(STALLS))
def test_adversarial_text_gets_a_verdict_within_a_second(problem, name):
    verifier = load_checked(PROBLEMS / problem)[1]
    start = time.monotonic()
    verdict = verifier.verify(STALLS[name])
    assert time.monotonic() - start < 1.0
    assert not verdict.passed and verdict.feedback


def test_over_long_attempt_is_refused_before_parsing():
    verifier = load_checked(PROBLEMS / "multiply-17-23.json")[1]
    verdict = verifier.verify("Answer: 391\n" + "x" * MAX_ATTEMPT_CHARS)
    assert not verdict.passed and verdict.failure_type == "attempt_too_long"


@pytest.mark.parametrize(
    "attempt,message",
    [
        ("Answer: " + " * ".join(["9" * 2200] * 2), "characters long"),
        ("Answer: 99999999999999999999 * 25 * 3 * 7", "at most 12 digits"),
        ("Answer: " + " + ".join(["1"] * 5000), "characters long"),
        ("Answer: " + "(" * 45 + "25" + " * 3)" * 45, "nests deeper"),
    ],
)
def test_huge_arithmetic_is_a_parse_error_verdict(attempt, message):
    verifier = load_checked(PROBLEMS / "countdown-25-3-7.json")[1]
    start = time.monotonic()
    verdict = verifier.verify(attempt)
    assert time.monotonic() - start < 1.0
    assert verdict.failure_type == "parse_error" and message in verdict.feedback


def test_numeric_answers_with_absurd_exponents_are_not_expanded(write_problem):
    problem = {
        "id": "n",
        "prompt": "p",
        "verifier": {"kind": "answer", "expected": 5, "compare": "numeric"},
    }
    verifier = build_verifier(load_problem(write_problem(problem)))
    start = time.monotonic()
    verdict = verifier.verify("Answer: 1e999999999")
    assert (
        time.monotonic() - start < 1.0 and not verdict.passed and "not a number" in verdict.feedback
    )
    assert verifier.verify("Answer: 10/2").passed


def command_verifier(write_problem, script):
    return build_verifier(
        load_problem(
            write_problem(
                {
                    "id": "c",
                    "prompt": "p",
                    "verifier": {"kind": "command", "command": [sys.executable, "-c", script]},
                }
            )
        )
    )


def test_lone_surrogates_become_printable_feedback(write_problem):
    script = "import json; print(json.dumps({'passed': False, 'feedback': 'bad \\ud800 char'}))"
    verdict = command_verifier(write_problem, script).verify("x")
    assert verdict.feedback == "bad ? char"
    verdict.feedback.encode("utf-8")  # what the tokenizer, JSON and terminals need
    json.dumps(verdict.to_json(), ensure_ascii=False).encode("utf-8")


def test_a_surrogate_in_an_exception_message_is_cleaned():
    verifier = load_checked(PROBLEMS / "sum-even-squares.json")[1]
    verdict = verifier.verify(
        "```python\ndef sum_even_squares(ns):\n    raise ValueError('\\ud800')\n```"
    )
    assert verdict.failure_type == "runtime_error" and "ValueError: ?" in verdict.feedback


@pytest.mark.parametrize(
    "script,message",
    [
        ("import json; print(json.dumps({'passed': 'false'}))", 'passed = "false"'),
        ("import json; print(json.dumps({'passed': True, 'score': 7}))", "score = 7"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "killed by signal 11"),
        ("import sys; sys.exit(3)", "exited with status 3"),
        ("import sys; sys.stdout.write('x' * (2 << 20))", "more than 1024 KB"),
    ],
)
def test_a_broken_checker_is_a_verifier_error_not_the_attempts_fault(
    write_problem, script, message
):
    with pytest.raises(VerifierError) as info:
        command_verifier(write_problem, script).verify("x")
    assert message in info.value.what


def test_absurd_limits_are_refused_at_load_time(write_problem):
    with pytest.raises(ProblemError) as info:
        load_problem(
            write_problem(
                {
                    "id": "t",
                    "prompt": "p",
                    "verifier": {"kind": "answer", "expected": 1},
                    "limits": {"memory_mb": 1e13},
                }
            )
        )
    assert "limits.memory_mb" in info.value.what and "from 64 to" in info.value.what


def test_deep_nesting_devices_and_huge_files_are_problem_errors(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for path, words in (
        (deep, "nests too deeply"),
        (tmp_path, "not a regular file"),
        ("/dev/zero", "not a regular file"),
    ):
        with pytest.raises(ProblemError) as info:
            load_problem(path)
        assert words in info.value.what


def test_check_goes_on_past_a_bad_file(tmp_path):
    (tmp_path / "a-deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "b-good.json").write_text((PROBLEMS / "multiply-17-23.json").read_text())
    result = run_sdpo("check", tmp_path, "/dev/zero", "--json", timeout=120)
    assert result.returncode == 1, result.stderr
    reports = {r["path"]: r for r in json.loads(result.stdout)["problems"]}
    assert reports[str(tmp_path / "b-good.json")]["ok"]
    assert not reports[str(tmp_path / "a-deep.json")]["ok"] and not reports["/dev/zero"]["ok"]


# -- the journal ------------------------------------------------------------------------
def new_log(tmp_path) -> RunLog:
    return RunLog.create(tmp_path / "run", {"config": {}})


def test_run_files_are_readable_by_their_owner_only(tmp_path):
    log = new_log(tmp_path)
    log.append_attempt({"index": 1})
    log.write_text("problem.json", "{}")
    for name in ("run.json", "attempts.jsonl", "problem.json"):
        assert os.stat(log.dir / name).st_mode & 0o077 == 0, name


def test_an_append_after_a_torn_line_loses_nothing(tmp_path):
    log = new_log(tmp_path)
    log.append_attempt({"index": 1})
    with open(log.dir / "attempts.jsonl", "a") as handle:
        handle.write('{"index": 2, "te')  # killed mid-write
    log.append_attempt({"index": 2})
    assert [r["index"] for r in read_jsonl(log.dir / "attempts.jsonl")] == [1, 2]


def test_a_full_disk_is_a_run_error_and_the_run_is_marked_where_it_can_be(tmp_path, monkeypatch):
    log = new_log(tmp_path)
    log.append_attempt({"index": 1})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(RunError) as info:
        log.append_attempt({"index": 2})
    assert "No space left on device" in info.value.what
    log.update_if_possible(status="error")  # cannot be written either: no second error
    monkeypatch.undo()
    log.update(status="error")  # space again: the mark lands, and the journal reads whole
    assert json.loads((log.dir / "run.json").read_text())["status"] == "error"
    lines = (log.dir / "attempts.jsonl").read_text().splitlines()
    assert len(list(read_jsonl(log.dir / "attempts.jsonl"))) == len(lines) >= 1  # no torn line


def test_a_second_writer_is_refused(tmp_path):
    log = new_log(tmp_path)
    with pytest.raises(RunError) as info:
        RunLog.open(log.dir)
    assert f"another sdpo process (pid {os.getpid()})" in info.value.what
    log.release()
    RunLog.open(log.dir).release()


def test_two_concurrent_resumes_duplicate_no_index(tmp_path):
    """Two processes race to resume one run: one writes, the other is refused."""
    log = new_log(tmp_path)
    log.release()
    script = (
        "import sys, time; from sdpo_cli.runlog import RunLog\n"
        "log = RunLog.open(sys.argv[1])\n"
        "done = len(log.attempts())\n"
        "for i in range(done + 1, done + 31):\n"
        "    log.append_attempt({'index': i}); time.sleep(0.01)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(log.dir)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1]
    assert any("another sdpo process" in err for _, err in results)
    assert [r["index"] for r in read_jsonl(log.dir / "attempts.jsonl")] == list(range(1, 31))


@pytest.mark.parametrize(
    "content,words", [("{}", "holds no run configuration"), ("[", "cannot be read")]
)
def test_a_corrupt_run_directory_exits_2(tmp_path, content, words):
    (tmp_path / "run.json").write_text(content)
    result = run_sdpo("solve", "--resume", tmp_path, timeout=60)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_a_corrupt_compare_directory_exits_2(tmp_path):
    (tmp_path / "compare.json").write_text('{"budget": ')
    result = run_sdpo("report", tmp_path, timeout=60)
    assert (
        result.returncode == 2
        and "compare.json" in result.stderr
        and "Traceback" not in result.stderr
    )


# -- the command line ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "args,words",
    [
        (["solve", "--no-such-option"], "No such option"),
        (["no-such-command"], "No such command"),
        (["solve", "x.json", "--budget", "abc"], "Invalid value for '--budget'"),
        (["verify", "problems/multiply-17-23.json"], "Missing option '--attempt'"),
    ],
)
def test_parser_errors_exit_2_with_one_line(args, words):
    result = run_sdpo(*args)
    # a "note:" line comes first where another sdpo model process runs on the machine
    said = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert result.returncode == 2 and said[0].startswith("error: ") and words in said[0]
    assert "Traceback" not in result.stderr


def test_debug_is_accepted_after_the_command():
    result = run_sdpo("check", "missing.json", "--debug")
    assert result.returncode == 1 and "No such option" not in result.stderr


def test_an_oversized_problem_file_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr("sdpo_cli.problem.MAX_PROBLEM_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"id": "b", "prompt": "x" * 2000, "verifier": {"kind": "answer"}}))
    with pytest.raises(ProblemError) as info:
        load_problem(big)
    assert "larger than" in info.value.what
