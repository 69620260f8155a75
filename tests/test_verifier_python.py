"""The python verifier: passing, wrong, crashing, hanging and hostile attempts."""

import os
import time

import pytest
from conftest import PROBLEMS, code

from sdpo_cli.problem import load_problem
from sdpo_cli.verifiers.registry import build_verifier, load_checked
from sdpo_cli.verifiers.sandbox import isolation


@pytest.fixture(scope="module")
def squares():
    return load_checked(PROBLEMS / "sum-even-squares.json")[1]


@pytest.fixture(scope="module")
def stdin_sum():
    return load_checked(PROBLEMS / "stdin-sum.json")[1]


def test_passing_function(squares):
    verdict = squares.verify(
        code("def sum_even_squares(ns):\n    return sum(n * n for n in ns if n % 2 == 0)")
    )
    assert verdict.passed and verdict.score == 1.0
    assert verdict.details["tests_passed"] == verdict.details["tests_total"] == 7


def test_wrong_function_shows_two_shortest_visible_failures(squares):
    verdict = squares.verify(code("def sum_even_squares(ns):\n    return sum(n * n for n in ns)"))
    assert not verdict.passed and verdict.failure_type == "wrong_answer"
    assert verdict.feedback.startswith("Wrong Answer\nPassed 3/7 tests.")
    assert "Input: sum_even_squares([5, 7])\nOutput: 74\nExpected: 0" in verdict.feedback
    assert verdict.feedback.count("Input:") == 2
    assert "[0, 1, -4, 9, 6]" not in verdict.feedback  # a hidden test's input never shows


def test_hidden_only_failure_reveals_nothing(squares):
    body = (
        "def sum_even_squares(ns):\n    if ns in ([1, 2, 3, 4], [], [5, 7]):\n"
        "        return sum(n * n for n in ns if n % 2 == 0)\n    return -1"
    )
    verdict = squares.verify(code(body))
    assert not verdict.passed and 0 < verdict.score < 1
    assert "Passed all 3 visible tests but failed 4 hidden test(s)" in verdict.feedback
    assert "-4" not in verdict.feedback and "Input" not in verdict.feedback


def test_crash_reports_exception_line_and_input(squares):
    verdict = squares.verify(code("def sum_even_squares(ns):\n    x = 1\n    return ns[10]"))
    assert verdict.failure_type == "runtime_error"
    assert (
        "Runtime Error\nIndexError: list index out of range\nLine 3: return ns[10]"
        in verdict.feedback
    )
    assert "Last input: sum_even_squares(" in verdict.feedback


def test_missing_code_block_is_incorrect_format(squares):
    verdict = squares.verify("def sum_even_squares(ns): return 0")
    assert verdict.failure_type == "incorrect_format" and "Incorrect Format" in verdict.feedback


def test_last_code_block_is_the_program(squares):
    text = (
        code("def sum_even_squares(ns):\n    return sum(n * n for n in ns if n % 2 == 0)")
        + "Usage:\n```python\nprint(sum_even_squares([2]))\n```\n"
    )
    verdict = squares.verify(text)
    assert (
        not verdict.passed
        and "NameError: name 'sum_even_squares' is not defined" in verdict.feedback
    )
    assert "Last input" not in verdict.feedback


def test_defining_entry_point_option_picks_the_definition(write_problem):
    data = {
        "id": "t",
        "prompt": "p",
        "verifier": {
            "kind": "python",
            "entry_point": "f",
            "code_block": "defining_entry_point",
            "tests": [{"args": [1], "expected": 2}, {"args": [2], "expected": 4, "hidden": True}],
        },
    }
    verifier = load_checked(write_problem(data))[1]
    text = code("def f(x):\n    return 2 * x") + "```python\nprint(f(3))\n```"
    assert verifier.verify(text).passed


def test_stdio_pass_wrong_crash(stdin_sum):
    assert stdin_sum.verify(code("print(sum(map(int, input().split())))")).passed
    wrong = stdin_sum.verify(code("print(0)"))
    assert (
        wrong.failure_type == "wrong_answer"
        and "Input: 10\n\nOutput: 0\nExpected: 10" in wrong.feedback
    )
    crash = stdin_sum.verify(code("raise ValueError('boom')"))
    assert crash.failure_type == "runtime_error" and "ValueError: boom" in crash.feedback


def hostile(verifier, body, within=10.0):
    start = time.monotonic()
    verdict = verifier.verify(code(body))
    assert time.monotonic() - start < within
    assert not verdict.passed and verdict.feedback
    return verdict


def test_infinite_loop_times_out(stdin_sum):
    verdict = hostile(stdin_sum, "while True:\n    pass")
    assert verdict.failure_type == "time_limit_exceeded" and verdict.feedback.startswith(
        "Time Limit Exceeded"
    )


def test_function_infinite_loop_times_out(squares):
    verdict = hostile(squares, "def sum_even_squares(ns):\n    while True:\n        pass")
    assert verdict.failure_type == "time_limit_exceeded"
    assert "Last input: sum_even_squares([1, 2, 3, 4])" in verdict.feedback


def test_fork_bomb_is_contained(squares):
    before = len(os.listdir("/proc"))
    verdict = hostile(
        squares,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    )
    assert verdict.failure_type in ("time_limit_exceeded", "runtime_error")
    time.sleep(0.5)
    assert len(os.listdir("/proc")) < before + 10  # nothing left running


def test_memory_hog_fails(squares):
    verdict = hostile(
        squares, "def sum_even_squares(ns):\n    block = bytearray(8 * 1024 ** 3)\n    return 0"
    )
    assert verdict.failure_type == "memory_limit_exceeded"


def test_huge_output_is_capped(stdin_sum):
    verdict = hostile(stdin_sum, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    assert verdict.failure_type in ("output_limit_exceeded", "time_limit_exceeded")


def test_hundred_megabytes_of_output(stdin_sum):
    verdict = hostile(stdin_sum, "print('y' * (100 * 1024 * 1024))")
    assert verdict.failure_type in ("output_limit_exceeded", "memory_limit_exceeded")


def test_cannot_write_outside_its_directory(stdin_sum, tmp_path):
    target = tmp_path / "escape.txt"
    os.chmod(tmp_path, 0o777)
    hostile(stdin_sum, f"open({str(target)!r}, 'w').write('x')\nprint(0)")
    assert not target.exists() or isolation() == "limits"


def test_no_network(stdin_sum):
    verdict = hostile(
        stdin_sum,
        "import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=2)\n"
        "print(sum(map(int, input().split())))",
    )
    if isolation() != "limits":
        assert verdict.failure_type == "runtime_error"
        assert "Network is unreachable" in verdict.feedback or "OSError" in verdict.feedback


def test_parent_environment_is_not_visible(stdin_sum, monkeypatch):
    monkeypatch.setenv("SDPO_TEST_SECRET", "hunter2")
    body = (
        "import os\nleak = 'hunter2' in repr(dict(os.environ))\n"
        "try:\n    leak = leak or b'hunter2' in "
        "open(f'/proc/{os.getppid()}/environ', 'rb').read()\n"
        "except OSError:\n    pass\n"
        "print('LEAK' if leak else sum(map(int, input().split())))"
    )
    verdict = stdin_sum.verify(code(body))
    assert "LEAK" not in verdict.feedback
    assert verdict.passed  # it runs normally, it just cannot see the secret


def test_bad_options_name_the_field(write_problem):
    from sdpo_cli.errors import ProblemError

    data = {
        "id": "t",
        "prompt": "p",
        "verifier": {"kind": "python", "entry_point": "f", "tests": [{"args": 1}]},
    }
    with pytest.raises(ProblemError) as info:
        build_verifier(load_problem(write_problem(data)))
    assert "verifier.tests" in info.value.what and "test 0" in info.value.what
