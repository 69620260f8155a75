"""`sdpo probe` with a scripted sampler: the recommendation follows the teacher's quality;
intervals and log-prob arithmetic against hand-computed values; `--method auto`."""

import math

import pytest

from sdpo_cli import metrics as M
from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.config import SolveConfig
from sdpo_cli.methods.attempts import round_seed
from sdpo_cli.methods.base import MethodContext
from sdpo_cli.methods.engine import load_engine
from sdpo_cli.methods.probe import Rule, probe, recommend
from sdpo_cli.methods.solve_run import solve
from sdpo_cli.problem import problem_from_dict
from sdpo_cli.reprompt import FEEDBACK_HEADER, INSTRUCTION
from sdpo_cli.runlog import start_log
from sdpo_cli.verifiers.registry import build_verifier

PROBLEM = problem_from_dict(
    {
        "id": "p",
        "prompt": "Say the magic word.",
        "verifier": {"kind": "answer", "expected": "please"},
    }
)
RIGHT, WRONG = "Answer: please", "Answer: now"


def engine_with(tiny_model_dir, rule):
    """A tiny policy with a sampler whose answer depends on the prompt it gets."""
    config = SolveConfig(budget=40, batch=4, model=str(tiny_model_dir))
    engine = load_engine(config, sampler=ScriptedSampler(lambda seed, position, prompt: WRONG))
    decode = engine.policy.tokenizer.decode

    def script(seed, position, prompt_ids):
        text = decode(prompt_ids)
        kind = (
            "teacher"
            if FEEDBACK_HEADER in text
            else "control"
            if INSTRUCTION in text
            else "student"
        )
        return rule(kind, seed, position)

    engine.sampler.script = script
    engine.sampler.tokenize = lambda text: (
        engine.policy.tokenizer(text, add_special_tokens=False).input_ids
    )
    return engine, config


def run_probe(tiny_model_dir, rule, samples=8):
    engine, config = engine_with(tiny_model_dir, rule)
    context = MethodContext(PROBLEM, build_verifier(PROBLEM), engine.policy, engine.sampler, config)
    return probe(context, samples)


def test_a_teacher_that_solves_leads_to_sdpo(tiny_model_dir):
    report, attempts = run_probe(
        tiny_model_dir, lambda kind, seed, pos: RIGHT if kind == "teacher" else WRONG
    )
    rates = report["pass_rate"]
    assert (rates["student"]["passes"], rates["teacher"]["passes"], rates["control"]["passes"]) == (
        0,
        8,
        0,
    )
    assert report["recommendation"] == "sdpo"
    assert report["solved_at"] == 9  # students 1-8, then the first teacher sample
    assert len(attempts) == report["attempts"] == 24
    assert report["failure_kinds"] == {"wrong_answer": 8}
    assert report["initial_sdpo_loss"] > 0
    logp = report["attempt_logprob"]
    assert logp["feedback_effect"] == pytest.approx(logp["teacher"] - logp["control"])
    assert logp["template_effect"] == pytest.approx(logp["control"] - logp["student"])


def test_a_teacher_worse_than_the_student_leads_to_bestofk(tiny_model_dir):
    # the student passes 1 in 8 (below the easy threshold); with feedback it never passes
    report, _ = run_probe(
        tiny_model_dir, lambda kind, seed, pos: RIGHT if kind == "student" and pos == 3 else WRONG
    )
    assert (
        report["pass_rate"]["student"]["passes"] == 1
        and report["pass_rate"]["teacher"]["passes"] == 0
    )
    assert report["recommendation"] == "bestofk"
    assert "about 8 attempts" in report["reason"]


def rates(student, teacher, n=10):
    return {
        "pass_rate": {
            "student": {"rate": student},
            "teacher": {"rate": teacher},
            "control": {"rate": 0},
        }
    }


@pytest.mark.parametrize(
    "report,gain,expected",
    [
        (rates(0.5, 0.5), None, "bestofk"),  # easy already
        (rates(0.0, 0.4), None, "sdpo"),  # teacher solves, no reference to check
        (rates(0.0, 0.4), -0.1, "multiturn"),  # in-context help, but not a better distribution
        (rates(0.0, 0.0), 0.05, "sdpo"),  # feedback raises the reference's likelihood
        (rates(0.0, 0.0), 0.01, "bestofk"),
    ],
)
def test_rule(report, gain, expected):
    if gain is not None:
        report["reference_logprob"] = {"feedback_effect": gain}
    assert recommend(report, Rule())[0] == expected


def test_wilson_interval_hand_values():
    low, high = M.wilson(0, 10).to_json()
    assert low == 0.0 and high == pytest.approx(0.21297, abs=1e-4)  # z^2/(n+z^2) = 2.706/12.706
    low, high = M.wilson(5, 10).to_json()
    half = 1.645 * math.sqrt(0.025 + 1.645**2 / 400) / (1 + 1.645**2 / 10)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))


def test_solve_method_auto_counts_the_probe_and_records_the_decision(tmp_path, tiny_model_dir):
    late = round_seed(0, 3, stream="bestofk")  # the third best-of-k round after the probe
    engine, config = engine_with(
        tiny_model_dir,
        lambda kind, seed, position: (
            RIGHT if kind == "student" and seed == late and position == 2 else WRONG
        ),
    )
    log = start_log(tmp_path / "run", PROBLEM, config, method="auto")
    summary = solve(
        PROBLEM, build_verifier(PROBLEM), config, log, engine=engine, method="auto", probe_samples=4
    )
    # probe: 4 students + 4 teacher + 4 control = 12 attempts, no pass -> bestofk in rounds of 4
    assert summary["probe"]["attempts"] == 12 and summary["method"] == "bestofk"
    assert summary["solved"] and summary["attempts_to_solve"] == 12 + 8 + 3
    assert log.info["decision"]["method"] == "bestofk"
    indices = [a["index"] for a in log.attempts()]
    assert indices == list(range(1, len(indices) + 1))
