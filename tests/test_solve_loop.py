"""The SDPO search loop with a scripted sampler and a tiny model: rounds, stopping at the
first pass, discovery index, updates between rounds, and the run journal."""

import errno
import json
import time

import pytest
import torch
from conftest import PROBLEMS

from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.config import SolveConfig, TrainConfig
from sdpo_cli.errors import RunError
from sdpo_cli.methods.engine import load_engine
from sdpo_cli.methods.solve_run import solve
from sdpo_cli.runlog import start_log
from sdpo_cli.verifiers.registry import load_checked

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


def run(tmp_path, tiny_model_dir, script, budget=12, batch=4, **config):
    problem, verifier = load_checked(PROBLEMS / "reverse-string.json")
    cfg = SolveConfig(
        budget=budget, batch=batch, model=str(tiny_model_dir), train=TrainConfig(), **config
    )
    sampler = ScriptedSampler(script)
    engine = load_engine(cfg, sampler=sampler)
    sampler.tokenize = lambda text: (
        engine.policy.tokenizer(text, add_special_tokens=False).input_ids
    )
    log = start_log(tmp_path / "run", problem, cfg)
    return solve(problem, verifier, cfg, log, engine=engine), log, sampler


def test_stops_at_first_pass_with_the_global_index(tmp_path, tiny_model_dir):
    script = [WRONG] * 6 + [RIGHT] + [WRONG] * 5
    summary, log, sampler = run(tmp_path, tiny_model_dir, script)
    assert summary["solved"] and summary["attempts_to_solve"] == 7
    assert (
        summary["attempts"] == 8 and summary["rounds"] == 2
    )  # the whole second batch was generated
    assert sampler.synced_versions == [1]  # one update between round 1 and round 2
    rounds = log.rounds()
    assert len(rounds) == 1 and rounds[0]["active_attempts"] == 4 and rounds[0]["loss"] > 0
    records = log.attempts()
    assert [r["index"] for r in records] == list(range(1, 9))
    assert [r["policy_version"] for r in records] == [0] * 4 + [1] * 4
    info = json.loads((log.dir / "run.json").read_text())
    assert info["status"] == "solved" and info["result"]["attempts_to_solve"] == 7
    assert (log.dir / "solution.txt").read_text() == RIGHT
    assert (log.dir / "adapter" / "adapter_model.safetensors").exists()


def test_budget_spent_unsolved(tmp_path, tiny_model_dir):
    summary, log, sampler = run(tmp_path, tiny_model_dir, [WRONG], budget=10, batch=4)
    assert not summary["solved"] and summary["attempts"] == 10 and summary["rounds"] == 3
    assert len(log.rounds()) == 2  # no update after the last round: the budget is spent
    assert json.loads((log.dir / "run.json").read_text())["status"] == "unsolved"
    feedback = log.attempts()[0]["verdict"]["feedback"]
    assert feedback.startswith("Wrong Answer")


def test_confirm_reports_pass_rate(tmp_path, tiny_model_dir):
    script = [RIGHT, WRONG, WRONG, WRONG, RIGHT, WRONG, RIGHT, WRONG]
    summary, log, _ = run(tmp_path, tiny_model_dir, script, confirm=4)
    assert summary["attempts_to_solve"] == 1
    assert summary["confirm"] == {"samples": 4, "passes": 2, "pass_rate": 0.5}
    phases = [r["phase"] for r in log.attempts()]
    assert phases.count("confirm") == 4


def test_truncated_attempt_feedback(tmp_path, tiny_model_dir):
    long_wrong = WRONG + "\nand then " * 400
    summary, log, _ = run(tmp_path, tiny_model_dir, [long_wrong], budget=4, batch=4)
    record = log.attempts()[0]
    assert record["finish_reason"] == "length"
    assert record["verdict"]["feedback"].startswith("Truncated Attempt")


def test_a_sampler_whose_log_probs_disagree_with_the_trainer_fails_the_run(
    tmp_path, tiny_model_dir
):
    """Every update compares the sampler's log-probs of the round's tokens with the
    trainer's; a sampler not serving the trained policy stops the run (exit 4)."""
    from sdpo_cli.backends.base import ParityError

    class Confident(ScriptedSampler):  # claims probability 1 for every token it wrote
        def sample(self, prompt_ids, n, params, seed):
            out = super().sample(prompt_ids, n, params, seed)
            for completion in out:
                completion.logprobs = [0.0] * len(completion.token_ids)
            return out

    problem, verifier = load_checked(PROBLEMS / "reverse-string.json")
    cfg = SolveConfig(budget=8, batch=4, model=str(tiny_model_dir), train=TrainConfig())
    sampler = Confident([WRONG])
    engine = load_engine(cfg, sampler=sampler)
    sampler.tokenize = lambda text: (
        engine.policy.tokenizer(text, add_special_tokens=False).input_ids
    )
    log = start_log(tmp_path / "run", problem, cfg)
    with pytest.raises(ParityError, match="round 1") as error:
        solve(problem, verifier, cfg, log, engine=engine)
    assert error.value.exit_code == 4
    assert (
        len(log.attempts()) == 4 and sampler.synced_versions == []
    )  # the round is kept, nothing synced


def test_the_last_checkpoint_is_written_when_the_run_returns(tmp_path, tiny_model_dir, monkeypatch):
    """Checkpoints are written in the background (here a slow disk): the run waits for
    the last one."""
    save = torch.save

    def slow_save(*args, **kwargs):
        time.sleep(1.0)
        save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", slow_save)
    summary, log, _ = run(tmp_path, tiny_model_dir, [WRONG], budget=10, batch=4)
    state = torch.load(log.state_dir / "trainer.pt", weights_only=False)
    assert summary["rounds"] == 3 and state["round"] == 2 and state["policy_version"] == 2


def test_a_failed_checkpoint_write_fails_the_run(tmp_path, tiny_model_dir, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(RunError, match="cannot write the training checkpoint: No space left"):
        run(tmp_path, tiny_model_dir, [WRONG], budget=10, batch=4)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "error"
