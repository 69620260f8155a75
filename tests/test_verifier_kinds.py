"""answer, arithmetic and command verifiers: passing, wrong, crashing and hanging attempts."""

import sys
import time

import pytest
from conftest import PROBLEMS

from sdpo_cli.errors import ProblemError, VerifierError
from sdpo_cli.problem import Limits
from sdpo_cli.verifiers.registry import load_checked, verifier_kinds
from sdpo_cli.verifiers.sandbox import wall_clock_s


def verifier_for(write_problem, verifier, **extra):
    return load_checked(write_problem({"id": "t", "prompt": "p", "verifier": verifier, **extra}))[1]


def test_builtin_kinds_register_through_entry_points():
    assert {"python", "answer", "arithmetic", "command"} <= set(verifier_kinds())


# -- answer -------------------------------------------------------------------
def test_answer_numeric_and_feedback_never_reveals_expected():
    verifier = load_checked(PROBLEMS / "multiply-17-23.json")[1]
    assert verifier.verify("17*23 is 391.\nAnswer: 391").passed
    wrong = verifier.verify("I think\nAnswer: 381")
    assert not wrong.passed and wrong.details["extracted"] == "381"
    assert "'381'" in wrong.feedback and "391" not in wrong.feedback
    missing = verifier.verify("It is three hundred and ninety-one.")
    assert missing.failure_type == "no_answer" and "Answer: <your answer>" in missing.feedback


@pytest.mark.parametrize(
    "extract,text,expected",
    [
        ("tag", "so <answer> Paris </answer>", True),
        ("boxed", "we get \\boxed{\\frac{1}{2}} wait no \\boxed{paris}", True),
        ("last_line", "thinking...\nParis.", True),
        ("answer_line", "Answer: London", False),
    ],
)
def test_answer_extraction_methods(write_problem, extract, text, expected):
    verifier = verifier_for(
        write_problem,
        {"kind": "answer", "expected": ["Paris", "paris, france"], "extract": extract},
    )
    assert verifier.verify(text).passed is expected


def test_answer_comparisons(write_problem):
    exact = verifier_for(write_problem, {"kind": "answer", "expected": "Yes", "compare": "exact"})
    assert exact.verify("Answer: Yes").passed and not exact.verify("Answer: yes").passed
    numeric = verifier_for(
        write_problem,
        {"kind": "answer", "expected": "0.5", "compare": "numeric", "tolerance": 0.01},
    )
    assert numeric.verify("Answer: 1/2").passed and numeric.verify("Answer: 0.505").passed
    assert "not a number" in numeric.verify("Answer: half").feedback


def test_answer_rejects_bad_options(write_problem):
    with pytest.raises(ProblemError, match="verifier.compare"):
        verifier_for(write_problem, {"kind": "answer", "expected": "1", "compare": "fuzzy"})


# -- arithmetic -----------------------------------------------------------------
@pytest.fixture(scope="module")
def game():
    return load_checked(PROBLEMS / "game24-3-3-8-8.json")[1]


def test_arithmetic_exact_rationals(game):
    verdict = game.verify("Answer: 8 / (3 - 8 / 3)")
    assert verdict.passed and verdict.details["value"] == "24"


def test_arithmetic_wrong_value_and_numbers(game):
    verdict = game.verify("Answer: 8 * 3 + 3")
    assert not verdict.passed
    assert "evaluates to 27; the target is 24 (off by 3)" in verdict.feedback
    assert "Numbers not used: 8" in verdict.feedback
    extra = game.verify("Answer: 8 * 3 * (9 - 8) * 1")
    assert "not available (or used too often): 1, 9" in extra.feedback


def test_arithmetic_parse_errors_and_disallowed(game):
    assert game.verify("Answer: 8 ** 3 - 3 - 8").failure_type == "parse_error"
    assert "division by zero" in game.verify("Answer: 8 / (3 - 3) + 8").feedback
    assert game.verify("Answer: import os").failure_type == "parse_error"
    assert game.verify("no answer here").failure_type == "no_answer"


def test_arithmetic_operator_subset(write_problem):
    verifier = verifier_for(
        write_problem,
        {"kind": "arithmetic", "numbers": [25, 3, 7], "target": 82, "operators": "+-*"},
    )
    assert verifier.verify("Answer: 25 × 3 + 7").passed
    assert "operator '/' is not allowed" in verifier.verify("Answer: 25 / 3 + 7").feedback


# -- command --------------------------------------------------------------------
def command_problem(write_problem, script, **options):
    return verifier_for(
        write_problem, {"kind": "command", "command": [sys.executable, "-c", script], **options}
    )


def test_command_exit_status_and_feedback(write_problem):
    script = (
        "import sys; t = sys.stdin.read(); print('needs hello') if 'hello' not in t else None; "
        "sys.exit(0 if 'hello' in t else 1)"
    )
    verifier = command_problem(write_problem, script)
    assert verifier.verify("hello world").passed
    wrong = verifier.verify("bye")
    assert not wrong.passed and wrong.feedback == "needs hello"


def test_command_json_report_and_problem_path(write_problem):
    script = (
        "import json, os, sys; t = sys.stdin.read(); "
        "print(json.dumps({'passed': t == 'x', 'score': 0.25, "
        "'feedback': os.environ['SDPO_PROBLEM_FILE']}))"
    )
    verifier = command_problem(write_problem, script)
    verdict = verifier.verify("y")
    assert (
        not verdict.passed and verdict.score == 0.25 and verdict.feedback.endswith("problem.json")
    )


def test_command_crash_and_hang(write_problem):
    crash = command_problem(write_problem, "raise SystemExit('checker exploded')").verify("a")
    assert not crash.passed and "checker exploded" in crash.feedback
    start = time.monotonic()
    hang = command_problem(write_problem, "import time; time.sleep(60)", timeout_s=1).verify("a")
    # a checker that waits uses no CPU time: the wall-clock backstop stops it, and says so
    assert time.monotonic() - start < wall_clock_s(Limits(timeout_s=1)) + 2
    assert hang.failure_type == "time_limit_exceeded" and "wall clock" in hang.feedback
    assert hang.details["wall_clock"] is True
    busy = command_problem(write_problem, "while True: pass", timeout_s=1).verify("a")
    assert busy.failure_type == "time_limit_exceeded" and busy.details["wall_clock"] is False


def test_command_that_cannot_start_is_a_broken_verifier(write_problem):
    verifier = verifier_for(write_problem, {"kind": "command", "command": "/nonexistent/checker"})
    with pytest.raises(VerifierError, match="cannot be started"):
        verifier.verify("a")
