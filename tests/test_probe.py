"""`sdpo probe` with a scripted sampler: the recommendation follows the teacher's quality;
intervals and log-prob arithmetic against hand-computed values; `--method auto`."""

import math

import pytest

from sdpo_cli import metrics as M
from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.config import SolveConfig
from sdpo_cli.methods import probe as probe_module
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
    assert report["solved_at"] == 17  # students 1-8, controls 9-16, then the first teacher
    assert len(attempts) == report["attempts"] == 24
    assert report["failure_kinds"] == {"wrong_answer": 8}
    assert report["initial_sdpo_loss"] > 0
    assert report["feedback_effect"]["pass_rate"]["difference"] == 1.0
    assert report["feedback_effect"]["pass_rate"]["ci90"][0] > 0.6
    logp = report["attempt_logprob"]
    assert logp["feedback_effect"] == pytest.approx(logp["teacher"] - logp["control"])
    assert logp["template_effect"] == pytest.approx(logp["control"] - logp["student"])


def test_each_hint_format_gets_its_own_teacher_and_the_strongest_is_named(
    tiny_model_dir, monkeypatch
):
    """Each format's teacher sees its own feedback text (marked here by format); the
    scripted teacher passes only with the `error` format's. Full feedback, the first
    format asked for, makes the recommendation; `error` is named the strongest."""
    monkeypatch.setattr(probe_module, "hint_text", lambda feedback, hint: f"{feedback} <{hint}>")
    engine, config = engine_with(tiny_model_dir, lambda kind, seed, pos: WRONG)
    decode, script = engine.policy.tokenizer.decode, engine.sampler.script
    engine.sampler.script = lambda seed, position, ids: (
        RIGHT if "<error>" in decode(ids) else script(seed, position, ids)
    )
    context = MethodContext(PROBLEM, build_verifier(PROBLEM), engine.policy, engine.sampler, config)
    report, attempts = probe(context, 4, hints=("full", "error"))
    assert report["hint"] == "full" and report["pass_rate"]["teacher"]["passes"] == 0
    assert report["hints"]["error"]["pass_rate"]["passes"] == 4
    assert report["hints"]["full"]["feedback_effect"]["pass_rate"]["difference"] == 0.0
    assert report["best_hint"] == "error" and len(attempts) == 4 + 4 + 4 + 4
    assert report["recommendation"] == "bestofk"  # the full-feedback teacher does not help


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


def effects(student, pass_ci, ref_ci=None):
    report = {
        "pass_rate": {"student": {"rate": student}},
        "feedback_effect": {"pass_rate": {"ci90": pass_ci}},
    }
    if ref_ci is not None:
        report["feedback_effect"]["reference_logprob"] = {"ci90": ref_ci}
    return report


@pytest.mark.parametrize(
    "report,expected",
    [
        (effects(0.5, [0.2, 0.6]), "bestofk"),  # easy already
        (effects(0.0, [0.1, 0.6]), "sdpo"),  # feedback helps, no reference to check
        (effects(0.0, [0.1, 0.6], [-0.03, 0.02]), "sdpo"),  # ... and the reference is not lower
        (effects(0.0, [0.1, 0.6], [-0.2, -0.1]), "multiturn"),  # in context only
        (effects(0.0, [-0.1, 0.3], [0.01, 0.05]), "sdpo"),  # the reference is likelier
        (effects(0.0, [-0.1, 0.3], [-0.01, 0.05]), "bestofk"),  # neither interval clears 0
        (effects(0.0, [None, None]), "bestofk"),  # no failed attempt to measure
    ],
)
def test_rule_on_the_feedback_effect_intervals(report, expected):
    assert recommend(report, Rule())[0] == expected


def test_a_stricter_rule_needs_more_than_0():
    report = effects(0.0, [0.05, 0.6])
    assert recommend(report, Rule())[0] == "sdpo"
    assert recommend(report, Rule(pass_gain=0.1))[0] == "bestofk"


def test_difference_interval_hand_values():
    """8/8 vs 0/8: Wilson 90% intervals [0.7467, 1] and [0, 0.2533]; Newcombe's bounds
    are 1 - sqrt(0.2533^2 + 0.2533^2) and 1."""
    upper_of_zero = M.wilson(0, 8).high
    low, high = M.difference_interval(8, 8, 0, 8).to_json()
    assert low == pytest.approx(1 - math.sqrt(2) * upper_of_zero) and high == pytest.approx(1.0)
    low, high = M.difference_interval(2, 8, 2, 8).to_json()
    assert low == pytest.approx(-high) and low < 0 < high
    assert M.difference_interval(1, 0, 0, 8).to_json() == [None, None]


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
