"""The method registry: one path from a name to a method for solve and compare, an
unknown name refused with the known ones, and every registered method run end to end."""

import subprocess
import sys

import pytest
from conftest import PROBLEMS, ROOT

from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.compare.analysis import load_runs
from sdpo_cli.compare.arms import parse_arms
from sdpo_cli.compare.jobs import plan
from sdpo_cli.compare.local import run_local
from sdpo_cli.errors import UsageError
from sdpo_cli.methods.base import build_method, method_names
from sdpo_cli.methods.best_of_k import BestOfK
from sdpo_cli.methods.multi_turn import MultiTurn

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


def test_names_build_their_methods_with_registered_and_given_options():
    assert method_names() == ["sdpo", "bestofk", "multiturn", "multiturn-chat"]
    chat = build_method("multiturn-chat", context_tokens=100)
    assert isinstance(chat, MultiTurn) and (chat.variant, chat.context_tokens) == ("chat", 100)
    assert chat.name == "multiturn-chat" and build_method("multiturn").variant == "feedback"
    pool = build_method("bestofk", pool=40)
    assert isinstance(pool, BestOfK) and pool.pool == 40


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UsageError) as info:
        build_method("best-of-k")
    assert "unknown method 'best-of-k'" in info.value.what
    assert info.value.hint == "known methods: sdpo, bestofk, multiturn, multiturn-chat"


@pytest.mark.parametrize(
    "args",
    [
        ["solve", str(PROBLEMS / "reverse-string.json"), "--method", "nope"],
        ["compare", str(PROBLEMS / "reverse-string.json"), "--baselines", "nope"],
    ],
)
def test_solve_and_compare_refuse_an_unknown_method_with_exit_2(args):
    result = subprocess.run(
        [sys.executable, "-m", "sdpo_cli", *args], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2, result.stderr
    assert (
        "error: unknown method 'nope'" in result.stderr and "known methods: sdpo" in result.stderr
    )


def test_every_registered_method_runs_a_compare_job(tmp_path, tiny_model_dir):
    """Each method through the compare worker; the chat variant sees the scripted model
    fail once and pass in its second round (attempt 5 of batches of 4)."""
    base = {"budget": 8, "batch": 4, "model": str(tiny_model_dir), "max_new_tokens": 64}
    problem = str(PROBLEMS / "reverse-string.json")
    arms = parse_arms(",".join(method_names()))
    jobs = plan([(problem, "reverse-string")], arms, 1, base, 8, 4, 512)
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "compare.json").write_text('{"budget": 8, "seeds": 1}')
    calls = {"n": 0}

    def script(seed, position, prompt_ids):
        calls["n"] += 1
        return RIGHT if position == 0 and (calls["n"] - 1) % 8 >= 4 else WRONG

    run_local(jobs, out, sampler=ScriptedSampler(script))
    runs = {run["method"]: run for run in load_runs(out)}
    assert sorted(runs) == sorted(method_names())
    for name in ("sdpo", "multiturn", "multiturn-chat"):
        assert runs[name]["attempts_to_solve"] == 5, name
    assert runs["bestofk"]["attempts"] == 8 and runs["bestofk"]["passes"] == 1
