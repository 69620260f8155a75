"""Layering: the CLI's help, verifiers, metrics and problem loading never import torch or vLLM."""

import subprocess
import sys

from conftest import ROOT

PROBE = """
import sys
import sdpo_cli.cli.main, sdpo_cli.verifiers.registry, sdpo_cli.metrics, sdpo_cli.problem, sdpo_cli.checking
import sdpo_cli.backends.scripted, sdpo_cli.reprompt, sdpo_cli.compare.analysis
heavy = sorted(m for m in ("torch", "vllm", "transformers", "peft") if m in sys.modules)
print(",".join(heavy))
"""


def test_light_modules_do_not_import_torch():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_help_is_fast_and_lists_commands():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "sdpo_cli", "--help"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    for command in ("solve", "compare", "report", "verify", "check", "doctor"):
        assert command in result.stdout
    assert "| torch" not in result.stderr.replace("  ", " ")
