"""Layering: the CLI's help, verifiers, metrics and problem loading never import torch or vLLM."""

import subprocess
import sys

from conftest import ROOT

HEAVY = ("torch", "vllm", "transformers", "peft")
LIGHT_MODULES = (
    "sdpo_cli.cli.main",
    "sdpo_cli.verifiers.registry",
    "sdpo_cli.metrics",
    "sdpo_cli.problem",
    "sdpo_cli.checking",
    "sdpo_cli.backends.scripted",
    "sdpo_cli.reprompt",
    "sdpo_cli.compare.analysis",
    "sdpo_cli.methods.base",
)


def heavy_modules_after(code: str) -> list[str]:
    """Which heavy libraries sit in sys.modules after running `code` in a fresh interpreter."""
    probe = (
        f"import sys\n{code}\nprint('heavy:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    return [m for m in line.removeprefix("heavy:").split(",") if m]


def test_light_modules_do_not_import_torch():
    assert heavy_modules_after("\n".join(f"import {m}" for m in LIGHT_MODULES)) == []


def test_help_lists_commands_without_importing_torch():
    code = (
        "from sdpo_cli.cli.main import app\n"
        "try:\n    app(['--help'], prog_name='sdpo', standalone_mode=False)\n"
        "except SystemExit:\n    pass\n"
        "for name in ('solve', 'compare', 'report', 'verify', 'check', 'doctor'):\n"
        "    assert any(c.name == name for c in app.registered_commands), name"
    )
    assert heavy_modules_after(code) == []


def test_the_probe_sees_a_heavy_import():
    """The check itself can fail: importing the trainer brings torch in."""
    assert "torch" in heavy_modules_after("import sdpo_cli.train.loss")
