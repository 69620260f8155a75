import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"


@pytest.fixture
def write_problem(tmp_path):
    """Write a problem dict to a file and return its path."""

    def write(data: dict, name: str = "problem.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data))
        return path

    return write


def code(body: str) -> str:
    return f"Here is my solution.\n```python\n{body}\n```\n"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def inline_solve(model_dir, verify: str = "true", backend: str = "hf") -> list:
    """`solve` arguments for an inline problem ("Say anything.") checked by a command,
    on a model folder: the start of many CLI tests' command lines."""
    return [
        "solve",
        "--prompt",
        "Say anything.",
        "--verify-command",
        verify,
        "--model",
        model_dir,
        "--backend",
        backend,
    ]


def run_sdpo(*args, timeout: float = 300):
    """`sdpo ARGS...` as a user runs it, in a subprocess from the checkout."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "sdpo_cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
