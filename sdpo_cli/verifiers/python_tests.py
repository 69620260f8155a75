"""`python` verifier: run the attempt's last fenced code block against test cases.

Two modes, chosen by the options: function-call tests (`entry_point` set; each test has
`args` and `expected`) and stdin/stdout program tests (each test has `input` and
`output`, LiveCodeBench style). A function-call problem may also carry `check`: a
benchmark's own `check(candidate)` code, run after the calls as one more hidden test.
Tests marked `"hidden": true` only decide `passed`;
feedback shows visible failures only, in the LeetCode-like format of the paper's code
environment (paper §4): an error or timeout alone, else "Wrong Answer" with
Input / Output / Expected for the two shortest failing visible tests, inputs and
outputs cut to about 250 characters. All code runs in the sandbox (sandbox.py).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..problem import Problem
from . import base
from .base import Verdict, Verifier
from .code_blocks import last_block_defining, last_code_block
from .sandbox import RunResult, run_sandboxed, wall_clock_verdict

HARNESS = Path(__file__).with_name("harness.py").read_text(encoding="utf-8")
SHOWN_CHARS = 250
SHOWN_FAILURES = 2


@dataclass
class Outcome:
    """What happened on one test."""

    index: int
    passed: bool
    kind: str | None = None  # a failure type from base, or None when passed
    shown_input: str = ""
    output: str = ""
    error: str = ""


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class PythonTestsVerifier(Verifier):
    kind = "python"

    def __init__(self, problem: Problem):
        super().__init__(problem)
        self.reject_unknown_options(
            {"entry_point", "tests", "code_block", "float_tolerance", "check"}
        )
        self.entry_point = self.option("entry_point", str, None)
        self.code_block = self.option(
            "code_block", str, "last", choices=("last", "defining_entry_point")
        )
        self.tolerance = float(self.option("float_tolerance", (int, float), 1e-6))
        if self.code_block == "defining_entry_point" and not self.entry_point:
            raise self.option_error("code_block", "needs 'entry_point'")
        self.tests = self.option("tests", list, [])
        self.check_code = self.option("check", str, None)
        if self.check_code is not None and not self.entry_point:
            raise self.option_error("check", "needs 'entry_point'")
        if not self.tests and self.check_code is None:
            raise self.option_error("tests", "must hold at least one test")
        need = {"args", "expected"} if self.entry_point else {"input", "output"}
        for i, test in enumerate(self.tests):
            if not isinstance(test, dict) or not need <= set(test) or set(test) - need - {"hidden"}:
                raise self.option_error(
                    "tests",
                    f"test {i} must be an object with keys "
                    f"{' and '.join(sorted(need))} (and optional 'hidden')",
                )
            if self.entry_point and not isinstance(test["args"], list):
                raise self.option_error("tests", f"test {i}: 'args' must be a list")
            if not self.entry_point and not all(isinstance(test[k], str) for k in need):
                raise self.option_error("tests", f"test {i}: 'input' and 'output' must be strings")
        self.calls = list(self.tests)
        if self.check_code is not None:  # the harness runs check(candidate) after the calls
            self.tests = self.calls + [{"args": [], "expected": True, "hidden": True}]

    def test_counts(self) -> tuple[int, int]:
        hidden = sum(bool(t.get("hidden")) for t in self.tests)
        return len(self.tests) - hidden, hidden

    def trivial_attempts(self) -> dict[str, str]:
        attempts = {"empty text": "", "program that does nothing": "```python\npass\n```"}
        if self.entry_point:
            attempts["wrong constant answer"] = (
                f"```python\ndef {self.entry_point}(*args, **kwargs):\n    return 0\n```"
            )
        else:
            attempts["wrong constant answer"] = "```python\nprint(0)\n```"
        return attempts

    def check(self, attempt: str) -> Verdict:
        if self.code_block == "defining_entry_point":
            program = last_block_defining(attempt, self.entry_point)
        else:
            program = last_code_block(attempt)
        if program is None:
            return Verdict(
                False,
                0.0,
                "Incorrect Format\nNo complete fenced code block was found. "
                "Put the whole program in one ```python ... ``` block.",
                base.INCORRECT_FORMAT,
                {"tests_passed": 0, "tests_total": len(self.tests)},
            )
        outcomes = self._run_calls(program) if self.entry_point else self._run_programs(program)
        return self._verdict(outcomes)

    # -- running ---------------------------------------------------------------
    def _run_programs(self, program: str) -> list[Outcome]:
        stop = threading.Event()  # after a timeout, tests not yet started are skipped

        def one(index: int) -> Outcome:
            if stop.is_set():
                return Outcome(index, False, "not_run")
            test = self.tests[index]
            result = run_sandboxed(
                ["{python}", "-I", "-S", "solution.py"],
                {"solution.py": program},
                test["input"],
                self.limits,
            )
            shown = clip(test["input"])
            failure = _run_failure(result)
            if failure:
                if failure[0] == base.TIME_LIMIT:
                    stop.set()
                return Outcome(index, False, failure[0], shown, error=failure[1])
            ok = result.stdout.split() == test["output"].split()
            return Outcome(
                index, ok, None if ok else base.WRONG_ANSWER, shown, clip(result.stdout.strip())
            )

        with ThreadPoolExecutor(max_workers=self.limits.parallel) as pool:
            return list(pool.map(one, range(len(self.tests))))

    def _run_calls(self, program: str) -> list[Outcome]:
        nonce = secrets.token_hex(8)
        files = {
            "solution.py": program,
            "harness.py": HARNESS,
            "calls.json": json.dumps([t["args"] for t in self.calls]),
        }
        if self.check_code is not None:
            files["check.py"] = self.check_code
        result = run_sandboxed(
            ["{python}", "-I", "-S", "harness.py", nonce, self.entry_point], files, "", self.limits
        )
        events = _parse_events(result.stdout, nonce)
        outcomes: list[Outcome] = []
        for index, test in enumerate(self.tests):
            shown = clip(_call_text(self.entry_point, test["args"]))
            tag, payload = events.get(index, (None, None))
            if tag == "RESULT":
                ok = _equal(payload, test["expected"], self.tolerance)
                outcomes.append(
                    Outcome(
                        index,
                        ok,
                        None if ok else base.WRONG_ANSWER,
                        shown,
                        clip(json.dumps(payload)),
                    )
                )
            elif tag == "ERROR":
                kind = (
                    base.MEMORY_LIMIT
                    if payload.get("type") == "MemoryError"
                    else base.RUNTIME_ERROR
                )
                outcomes.append(
                    Outcome(
                        index,
                        False,
                        kind,
                        "" if payload.get("at_load") else shown,
                        error=_error_text(payload),
                    )
                )
            else:  # never finished: the whole run stopped on this test or before it
                failure = _run_failure(result) or (base.RUNTIME_ERROR, _stderr_tail(result))
                outcomes.append(Outcome(index, False, failure[0], shown, error=failure[1]))
                break
        for index in range(len(outcomes), len(self.tests)):
            outcomes.append(Outcome(index, False, "not_run"))
        return outcomes

    # -- feedback --------------------------------------------------------------
    def _verdict(self, outcomes: list[Outcome]) -> Verdict:
        total = len(outcomes)
        passed = sum(o.passed for o in outcomes)
        hidden = {i for i, t in enumerate(self.tests) if t.get("hidden")}
        details: dict[str, Any] = {
            "tests_passed": passed,
            "tests_total": total,
            "visible_passed": sum(o.passed for o in outcomes if o.index not in hidden),
            "visible_total": total - len(hidden),
        }
        if passed == total:
            return Verdict(True, 1.0, "Accepted: all tests passed.", None, details)
        failures = [o for o in outcomes if not o.passed and o.kind != "not_run"]
        errors = [o for o in failures if o.kind != base.WRONG_ANSWER]
        if errors:  # an error or a timeout is shown alone
            error = errors[0]
            return Verdict(
                False,
                passed / total,
                _error_feedback(error, error.index in hidden),
                error.kind,
                details,
            )
        visible = [o for o in failures if o.index not in hidden]
        if not visible:
            text = (
                f"Wrong Answer\nPassed all {details['visible_total']} visible tests but failed "
                f"{len(failures)} hidden test(s). Check edge cases."
            )
            return Verdict(False, passed / total, text, base.WRONG_ANSWER, details)
        shortest = sorted(visible, key=lambda o: len(o.shown_input))[:SHOWN_FAILURES]
        lines = ["Wrong Answer", f"Passed {passed}/{total} tests."]
        for outcome in shortest:
            expected = self.tests[outcome.index]["expected" if self.entry_point else "output"]
            expected_text = json.dumps(expected) if self.entry_point else expected.strip()
            lines += [
                "",
                f"Input: {outcome.shown_input}",
                f"Output: {outcome.output}",
                f"Expected: {clip(expected_text)}",
            ]
        return Verdict(False, passed / total, "\n".join(lines), base.WRONG_ANSWER, details)


def _parse_events(stdout: str, nonce: str) -> dict[int, tuple[str, Any]]:
    events: dict[int, tuple[str, Any]] = {}
    for line in stdout.splitlines():
        if not line.startswith(nonce + " "):
            continue
        parts = line.split(" ", 3)
        if len(parts) < 3 or not parts[2].isdigit():
            continue
        tag, index = parts[1], int(parts[2])
        if tag in ("RESULT", "ERROR"):
            try:
                events[index] = (tag, json.loads(parts[3]) if len(parts) > 3 else None)
            except json.JSONDecodeError:
                continue
    return events


def _run_failure(result: RunResult) -> tuple[str, str] | None:
    """Classify a run that did not end normally: (failure type, text) or None."""
    if result.output_exceeded:
        return base.OUTPUT_LIMIT, "Output Limit Exceeded"
    if result.timed_out:  # the wall-clock backstop
        return base.TIME_LIMIT, wall_clock_verdict(result)
    if result.cpu_exceeded or result.killed_by in (9, 24):  # CPU seconds; SIGXCPU, SIGKILL
        return base.TIME_LIMIT, "Time Limit Exceeded"
    if result.killed_by == 25:  # SIGXFSZ
        return base.OUTPUT_LIMIT, "File Size Limit Exceeded"
    if "MemoryError" in result.stderr[-2000:]:
        return base.MEMORY_LIMIT, "Memory Limit Exceeded\nMemoryError"
    if result.returncode != 0:
        return base.RUNTIME_ERROR, _stderr_tail(result)
    return None


def _stderr_tail(result: RunResult) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    where = next(
        (ln.strip() for ln in reversed(lines) if 'File "' in ln and "solution.py" in ln), ""
    )
    detail = lines[-1] if lines else f"exit status {result.returncode}"
    line_no = where.split("line ")[-1].split(",")[0] if where else ""
    return f"{clip(detail)}" + (f"\nLine {line_no}" if line_no.isdigit() else "")


def _error_text(payload: dict) -> str:
    message = f"{payload.get('type')}: {payload.get('message')}".rstrip(": ")
    if payload.get("line"):
        message += f"\nLine {payload['line']}: {payload.get('code', '').strip()}"
    return clip(message, 2 * SHOWN_CHARS)


def _error_feedback(outcome: Outcome, hidden: bool) -> str:
    title = {
        base.TIME_LIMIT: "Time Limit Exceeded",
        base.MEMORY_LIMIT: "Memory Limit Exceeded",
        base.OUTPUT_LIMIT: "Output Limit Exceeded",
    }.get(outcome.kind, "Runtime Error")
    body = outcome.error if outcome.error and outcome.error != title else ""
    if body.startswith(title):
        body = body[len(title) :].strip()
    text = title + (f"\n{body}" if body else "")
    if not outcome.shown_input:  # the program failed before any test ran
        return text
    return text + ("\n(on a hidden test)" if hidden else f"\nLast input: {outcome.shown_input}")


def _call_text(entry_point: str, args: list) -> str:
    return f"{entry_point}({', '.join(json.dumps(a) for a in args)})"


def _equal(actual: Any, expected: Any, tolerance: float) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if (
            isinstance(actual, (int, float))
            and isinstance(expected, (int, float))
            and not isinstance(actual, bool)
            and not isinstance(expected, bool)
        ):
            return math.isclose(actual, expected, rel_tol=tolerance, abs_tol=tolerance)
        return False
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            _equal(a, e, tolerance) for a, e in zip(actual, expected)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            _equal(actual[k], expected[k], tolerance) for k in expected
        )
    return type(actual) is type(expected) and actual == expected
