"""Problem files: validation errors name the file, the field and the value."""

import json

import pytest
from conftest import PROBLEMS

from sdpo_cli.errors import ProblemError
from sdpo_cli.problem import load_problem
from sdpo_cli.verifiers.registry import load_checked

GOOD = {"id": "p1", "prompt": "What?", "verifier": {"kind": "answer", "expected": "1"}}


def test_shipped_problems_load_and_cover_four_families():
    problems = [load_checked(p)[0] for p in sorted(PROBLEMS.glob("*.json"))]
    assert len(problems) >= 12
    assert len({p.metadata["family"] for p in problems}) >= 4
    assert all(p.reference for p in problems)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"id": 3}, "field 'id' = 3 must be a string"),
        ({"id": "bad id!"}, "field 'id' = 'bad id!'"),
        ({"prompt": None}, "missing field 'prompt'"),
        ({"color": "red"}, "unknown field 'color'"),
        (
            {"limits": {"timeout_s": -1}},
            "field 'limits.timeout_s' = -1 must be a number from 0.1 to 3,600",
        ),
        (
            {"limits": {"memory_mb": 1.5}},
            "field 'limits.memory_mb' = 1.5 must be a whole number from 64 to 1,048,576",
        ),
        ({"metadata": {"difficulty": "trivial"}}, "field 'metadata.difficulty' = 'trivial'"),
        ({"verifier": {"kind": "nope"}}, "field 'verifier.kind' = 'nope' is not a known verifier"),
        ({"verifier": {"kind": "answer"}}, "missing field 'verifier.expected'"),
    ],
)
def test_invalid_fields(write_problem, change, message):
    data = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = write_problem(data)
    with pytest.raises(ProblemError) as info:
        load_checked(path)
    assert message in info.value.what
    assert info.value.where == str(path)


def test_malformed_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": "x",')
    with pytest.raises(ProblemError, match="not valid JSON"):
        load_problem(path)


def test_messages_include_optional_system(write_problem):
    problem = load_problem(write_problem({**GOOD, "system": "Be brief."}))
    assert problem.messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What?"},
    ]
    assert json.loads(json.dumps(problem.to_json()))["limits"]["timeout_s"] == 3.0
