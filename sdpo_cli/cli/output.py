"""Printing for the CLI: one JSON document on stdout, everything else on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

SCHEMA_VERSION = 1

# Progress, tables and messages go to stderr unless a command prints its report to stdout.
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def emit_json(kind: str, payload: dict[str, Any]) -> None:
    """Print exactly one JSON document with its schema version on stdout."""
    document = {"schema_version": SCHEMA_VERSION, "kind": kind, **payload}
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()
