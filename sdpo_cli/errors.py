"""Error classes that carry their exit code and a hint for the person reading them.

Library code raises these; only the CLI prints them and exits (see cli/main.py).
Exit codes are a contract documented in the README.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNSOLVED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class SdpoError(Exception):
    """An error shown to people as `error: what (where)` and `hint: how to fix`."""

    exit_code = EXIT_INTERNAL

    def __init__(self, what: str, where: str | None = None, hint: str | None = None):
        super().__init__(what)
        self.what = what
        self.where = where
        self.hint = hint

    def line(self) -> str:
        return f"{self.what} ({self.where})" if self.where else self.what


class UsageError(SdpoError):
    """Bad command-line usage or configuration."""

    exit_code = EXIT_USAGE


class ProblemError(SdpoError):
    """A problem file that cannot be read or does not validate."""

    exit_code = EXIT_USAGE


class EnvironmentProblem(SdpoError):
    """Something missing from the machine: an extra, a model not available offline."""

    exit_code = EXIT_ENVIRONMENT


class VerifierError(SdpoError):
    """The verifier harness itself broke (not the attempt: a failed attempt is a verdict)."""

    exit_code = EXIT_INTERNAL


class RunError(SdpoError):
    """A run directory that cannot be resumed or written."""

    exit_code = EXIT_USAGE


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal (SIGINT or SIGTERM): handled like Ctrl-C everywhere
    (the run is marked cancelled), and the process exits 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum
