"""`command` verifier: any external executable decides.

The command gets the attempt on stdin and the problem file's path in SDPO_PROBLEM_FILE.
It passes by exiting 0, or it prints a JSON object {"passed": bool, "score": float,
"feedback": str} on stdout, which wins over the exit status. Otherwise its output
(stdout, then stderr) becomes the feedback. The command is the user's own, trusted
program, so it is not isolated, but its timeout, process-group kill and output cap are
enforced. A command that cannot be started is a broken verifier (VerifierError).
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
from .sandbox import run_trusted


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
            result = run_trusted(self._resolved_argv(), attempt, self.run_limits, self.problem.directory, env)
        except OSError as exc:
            raise VerifierError(f"verifier command cannot be started: {exc.strerror}",
                                " ".join(self.argv), "check verifier.command in the problem file") from None
        if result.timed_out:
            return Verdict(False, 0.0, "Time Limit Exceeded\nThe checker did not finish in time.",
                           base.TIME_LIMIT, {"returncode": None})
        output = (result.stdout.strip() + "\n" + result.stderr.strip()).strip()
        reported = _json_report(result.stdout)
        if reported is not None:
            passed = bool(reported.get("passed"))
            score = reported.get("score", 1.0 if passed else 0.0)
            score = float(score) if isinstance(score, (int, float)) else (1.0 if passed else 0.0)
            feedback = str(reported.get("feedback") or ("Accepted." if passed else "Wrong Answer"))
            return Verdict(passed, score, feedback, None if passed else base.WRONG_ANSWER,
                           {"returncode": result.returncode})
        passed = result.returncode == 0
        feedback = output or ("Accepted." if passed else f"Wrong Answer (checker exit status {result.returncode})")
        return Verdict(passed, 1.0 if passed else 0.0, feedback, None if passed else base.WRONG_ANSWER,
                       {"returncode": result.returncode})


def _json_report(stdout: str) -> dict | None:
    text = stdout.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and "passed" in data else None
