"""Printing for the CLI: one JSON document on stdout, everything else on stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

SCHEMA_VERSION = 1


def _reserve_stdout():
    """Keep the real stdout for our own output and point file descriptor 1 at stderr, so
    that libraries and the processes they spawn (vLLM logs to stdout) cannot break the
    one-JSON-document contract of `--json`."""
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        return sys.stdout
    return os.fdopen(saved, "w", buffering=1, encoding="utf-8")


REAL_STDOUT = _reserve_stdout()
# Progress, tables and messages go to stderr; reports and JSON to the real stdout.
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(file=REAL_STDOUT, highlight=False, soft_wrap=True)


def emit_json(kind: str, payload: dict[str, Any]) -> None:
    """Print exactly one JSON document with its schema version on stdout."""
    document = {"schema_version": SCHEMA_VERSION, "kind": kind, **payload}
    REAL_STDOUT.write(json.dumps(document, indent=2, default=str) + "\n")
    REAL_STDOUT.flush()


def print_out(text: str) -> None:
    REAL_STDOUT.write(text + "\n")
    REAL_STDOUT.flush()
