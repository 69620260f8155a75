"""`sdpo import jsonl`: good records become checked problems, malformed ones are named
by their line and do not stop the others."""

import json

import pytest
from conftest import run_sdpo

from sdpo_cli.errors import UsageError
from sdpo_cli.importers.jsonl import import_jsonl

RECORDS = [
    '{"q": "What is 6 times 7?", "a": 42, "name": "six-times-seven"}',
    '{"q": "Name the capital of France.", "a": "Paris"}',
    "{not json",
    '{"q": "A question without an answer"}',
    '{"q": "How many?", "a": "many"}',
    "",
    '{"q": "What is 6 times 7, again?", "a": 42, "name": "six-times-seven"}',
]


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "facts.jsonl"
    path.write_text("\n".join(RECORDS) + "\n")
    return path


def test_good_records_become_problems_and_bad_ones_are_named(source):
    problems, errors = import_jsonl(source, "q", "a", "numeric", id_field="name")
    assert [p["id"] for p in problems] == ["six-times-seven"]
    assert problems[0]["verifier"] == {"kind": "answer", "expected": "42", "compare": "numeric"}
    assert problems[0]["prompt"].endswith("End with a line of the form 'Answer: <your answer>'.")
    assert [e.where for e in errors] == [f"{source}:{n}" for n in (2, 3, 4, 5, 7)]
    assert "not a number" in errors[0].what and "not valid JSON" in errors[1].what
    assert "'a' is missing" in errors[2].what and "given twice" in errors[4].what
    problems, errors = import_jsonl(source, "q", "a")  # normalized text: line 2 and 5 are fine
    assert [p["id"] for p in problems] == [
        "facts-00001",
        "facts-00002",
        "facts-00005",
        "facts-00007",
    ]


def test_a_bad_comparison_is_a_usage_error(source):
    with pytest.raises(UsageError, match="--compare 'fuzzy'"):
        import_jsonl(source, "q", "a", "fuzzy")


def test_the_command_writes_checked_problems_and_exits_1_on_rejects(source, tmp_path):
    out = tmp_path / "imported"
    result = run_sdpo(
        "import",
        "jsonl",
        str(source),
        "--prompt",
        "q",
        "--answer",
        "a",
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert len(doc["written"]) == 4 and len(doc["rejected"]) == 2  # lines 3 and 4
    assert (
        f"error: not valid JSON: Expecting property name enclosed in double quotes ({source}:3)"
        in result.stderr
    )
    checked = run_sdpo("check", str(out), "--json", timeout=120)
    assert checked.returncode == 0, checked.stdout
    assert all(p["ok"] for p in json.loads(checked.stdout)["problems"])
