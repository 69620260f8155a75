"""`sdpo import reasoning-gym`: countdown and 24-game entries as arithmetic problems,
others scored by the dataset's own scorer without the answer in the problem file."""

import json
import sys

import pytest
from conftest import run_sdpo

from sdpo_cli.problem import load_problem
from sdpo_cli.verifiers.registry import build_verifier

pytest.importorskip("reasoning_gym", reason="needs the reasoning-gym extra")


def imported(tmp_path, *args):
    out = tmp_path / "rg"
    result = run_sdpo("import", "reasoning-gym", *args, "--out", str(out), "--json", timeout=300)
    return result, out


def test_countdown_becomes_arithmetic_with_the_datasets_numbers(tmp_path):
    result, out = imported(tmp_path, "countdown", "--count", "2", "--seed", "1")
    assert result.returncode == 0, result.stderr
    problem = load_problem(out / "countdown-s1-0000.json")
    assert problem.verifier == {"kind": "arithmetic", "numbers": [6, 61, 94, 4], "target": 309}
    verifier = build_verifier(problem)
    assert verifier.verify(problem.reference).passed
    assert "evaluates to" in verifier.verify("Answer: 6 + 61 + 94 + 4").feedback


def test_other_datasets_are_scored_by_their_own_scorer_without_the_answer_on_disk(tmp_path):
    result, out = imported(
        tmp_path,
        "basic_arithmetic",
        "--count",
        "3",
        "--seed",
        "1",
        "--config",
        "min_terms=2",
        "--config",
        "max_terms=2",
    )
    assert result.returncode == 0, result.stderr
    path = out / "basic-arithmetic-s1-0000.json"
    problem = load_problem(path)
    assert problem.verifier["kind"] == "reasoning_gym"
    assert problem.verifier["config"] == {"min_terms": 2, "max_terms": 2}
    assert "expected" not in problem.verifier and "answer" not in json.dumps(problem.verifier)
    verifier = build_verifier(problem)
    right = verifier.verify(problem.reference)
    assert right.passed and right.details["score"] == 1.0
    wrong = verifier.verify("Answer: 123456789")
    assert not wrong.passed and wrong.score < 1  # the scorer may give partial credit
    how = "partly right" if wrong.score > 0 else "not correct"
    assert wrong.feedback == (  # the attempt and its score, nothing of the expected answer
        "Wrong Answer\nYour final answer was '123456789'; the dataset's scorer gave it "
        f"{wrong.score:.2f} of 1: {how}."
    )
    checked = run_sdpo("check", str(out), "--json", timeout=300)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    "args,words",
    [
        (["no_such_dataset"], "reasoning-gym refused dataset 'no_such_dataset'"),
        (["basic_arithmetic", "--config", "bogus=1"], "unexpected keyword argument 'bogus'"),
        (["basic_arithmetic", "--config", "nonsense"], "--config 'nonsense' is not KEY=VALUE"),
    ],
)
def test_bad_requests_exit_2(tmp_path, args, words):
    result, _ = imported(tmp_path, *args)
    assert result.returncode == 2 and words in result.stderr


def test_without_the_package_check_names_the_extra(tmp_path, monkeypatch):
    from sdpo_cli.checking import check_problem
    from sdpo_cli.verifiers import reasoning_gym as kind

    _, out = imported(tmp_path, "basic_arithmetic", "--count", "1")
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # import now fails
    kind.dataset.cache_clear()
    try:
        report = check_problem(next(out.iterdir()))
    finally:
        kind.dataset.cache_clear()
    assert not report.ok
    assert report.failures == [
        "cannot be verified here: the reasoning_gym verifier needs the reasoning-gym package "
        "(pip install 'sdpo-cli[reasoning-gym]')"
    ]
