"""`command` verifier: any external executable decides.

The command gets the attempt on stdin and the problem file's path in SDPO_PROBLEM_FILE.
Its verdict: exit 0 passes, exit 1 fails, and its output (stdout, then stderr) is the
feedback; or it prints one JSON object {"passed": true|false, "score": 0..1, "feedback":
"..."} on stdout, which wins over the exit status. A checker that runs past its time
limit (CPU seconds of its process tree; a wall-clock backstop, verifiers/sandbox.py) gives
a "Time Limit Exceeded" verdict. Anything else means the checker itself broke,
and that is never the attempt's fault: a command that cannot start, one killed by a
signal, one that exits with another status, one past the output cap, or JSON whose
fields have the wrong types raise VerifierError. The command is the user's own, trusted
program, so it is not isolated, but its time limits, process-group kill and output cap
are enforced.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

from ..errors import VerifierError
from ..problem import Problem
from . import base
from .base import Verdict, Verifier
from .sandbox import run_trusted, wall_clock_verdict


class CommandVerifier(Verifier):
    kind = "command"

    def __init__(self, problem: Problem):
        super().__init__(problem)
        self.reject_unknown_options({"command", "timeout_s"})
        command = self.option("command", (str, list))
        argv = shlex.split(command) if isinstance(command, str) else command
        if not argv or not all(isinstance(a, str) for a in argv):
            raise self.option_error("command", "must be a command line or a list of strings")
        self.argv = argv
        timeout = self.option("timeout_s", (int, float), self.limits.timeout_s)
        if timeout <= 0:
            raise self.option_error("timeout_s", "must be positive")
        self.run_limits = type(self.limits)(**{**self.limits.__dict__, "timeout_s": float(timeout)})

    def _resolved_argv(self) -> list[str]:
        program = self.argv[0]
        local = self.problem.directory / program
        if os.sep in program and not Path(program).is_absolute():
            program = str(local)
        elif os.sep not in program and not shutil.which(program) and local.exists():
            program = str(local)
        return [program, *self.argv[1:]]

    def check(self, attempt: str) -> Verdict:
        env = dict(os.environ)
        env["SDPO_PROBLEM_FILE"] = str(self.problem.path.resolve()) if self.problem.path else ""
        try:
            result = run_trusted(
                self._resolved_argv(), attempt, self.run_limits, self.problem.directory, env
            )
        except OSError as exc:
            raise VerifierError(
                f"verifier command cannot be started: {exc.strerror}",
                " ".join(self.argv),
                "check verifier.command in the problem file",
            ) from None
        if result.timed_out or result.cpu_exceeded:
            limit = wall_clock_verdict(result) if result.timed_out else "Time Limit Exceeded"
            return Verdict(
                False,
                0.0,
                f"{limit}\nThe checker did not finish in time.",
                base.TIME_LIMIT,
                {"returncode": None, "wall_clock": result.timed_out},
            )
        self._check_health(result)
        reported = _json_report(result.stdout, " ".join(self.argv))
        if reported is not None:
            passed, score, feedback = reported
            return Verdict(
                passed,
                score,
                feedback,
                None if passed else base.WRONG_ANSWER,
                {"returncode": result.returncode},
            )
        passed = result.returncode == 0
        output = (result.stdout.strip() + "\n" + result.stderr.strip()).strip()
        feedback = output or ("Accepted." if passed else "Wrong Answer (checker exit status 1)")
        return Verdict(
            passed,
            1.0 if passed else 0.0,
            feedback,
            None if passed else base.WRONG_ANSWER,
            {"returncode": result.returncode},
        )

    def _check_health(self, result) -> None:
        where = " ".join(self.argv)
        if result.output_exceeded:
            raise VerifierError(
                f"the checker wrote more than {self.limits.max_output_kb} KB of output",
                where,
                "make the checker print less, or raise limits.max_output_kb",
            )
        if result.killed_by is not None and result.returncode < 0:
            raise VerifierError(f"the checker was killed by signal {result.killed_by}", where)
        if result.returncode not in (0, 1):
            tail = (result.stderr.strip().splitlines() or [""])[-1][:200]
            raise VerifierError(
                f"the checker exited with status {result.returncode} (0 passes, 1 fails)"
                + (f": {tail}" if tail else ""),
                where,
            )


def _json_report(stdout: str, where: str) -> tuple[bool, float, str] | None:
    """(passed, score, feedback) from a JSON report on stdout, None if there is none;
    a report with fields of the wrong type is a broken checker."""
    text = stdout.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or "passed" not in data:
        return None
    passed, score, feedback = data["passed"], data.get("score"), data.get("feedback")
    if not isinstance(passed, bool):
        raise VerifierError(
            f"the checker's JSON has passed = {json.dumps(passed)[:40]}; it must be true or false",
            where,
        )
    if score is None:
        score = 1.0 if passed else 0.0
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise VerifierError(
            f"the checker's JSON has score = {json.dumps(score)[:40]}; it must be a "
            "number from 0 to 1",
            where,
        )
    if feedback is not None and not isinstance(feedback, str):
        raise VerifierError("the checker's JSON has a feedback that is not a string", where)
    return passed, float(score), feedback or ("Accepted." if passed else "Wrong Answer")
