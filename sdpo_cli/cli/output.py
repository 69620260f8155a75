"""Printing for the CLI: one JSON document on stdout, everything else on stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

SCHEMA_VERSION = 1


# Progress, tables and messages go to stderr; reports and JSON to stdout. Markup is off:
# printed text carries problem ids, paths, arm labels (`sdpo[hybrid=0.5]`) and verifier
# output, whose brackets rich would read as styles; colour is given as rich Text.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
out = Console(highlight=False, soft_wrap=True, markup=False)
_STDOUT = {"file": sys.stdout}


def protect_stdout() -> None:
    """Keep the real stdout for our own output and point file descriptor 1 at stderr, so
    that libraries and the processes they spawn (vLLM logs to stdout) cannot break the
    one-JSON-document contract of `--json`. Called by commands that load models."""
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        return
    _STDOUT["file"] = os.fdopen(saved, "w", buffering=1, encoding="utf-8")
    out.file = _STDOUT["file"]


def emit_json(kind: str, payload: dict[str, Any]) -> None:
    """Print exactly one JSON document with its schema version on stdout."""
    document = {"schema_version": SCHEMA_VERSION, "kind": kind, **payload}
    _STDOUT["file"].write(json.dumps(document, indent=2, default=str) + "\n")
    _STDOUT["file"].flush()


def print_out(text: str) -> None:
    _STDOUT["file"].write(text + "\n")
    _STDOUT["file"].flush()
