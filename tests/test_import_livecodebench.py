"""`sdpo import livecodebench` on small files written in the release schema: stdin and
functional tests, private tests encoded as LiveCodeBench encodes them, a crafted pickle
that must not run, filters, and malformed records."""

import base64
import json
import os
import pickle
import zlib

from conftest import run_sdpo

from sdpo_cli.importers.livecodebench import import_livecodebench
from sdpo_cli.problem import problem_from_dict
from sdpo_cli.verifiers.registry import build_verifier


def encode(tests: list) -> str:
    """Private tests as the release files hold them: base64(zlib(pickle(JSON string)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def stdin_record(**changes) -> dict:
    tests = [{"input": "2 3\n", "output": "5\n", "testtype": "stdin"}]
    hidden = [
        {"input": "10 -4\n", "output": "6\n", "testtype": "stdin"},
        {"input": "0 0\n", "output": "0\n", "testtype": "stdin"},
    ]
    return {
        "question_title": "Sum",
        "question_content": "Print the sum of two integers.",
        "platform": "atcoder",
        "question_id": "abc999_a",
        "contest_id": "abc999",
        "contest_date": "2025-03-01T12:00:00",
        "starter_code": "",
        "difficulty": "easy",
        "public_test_cases": json.dumps(tests),
        "private_test_cases": encode(hidden),
        "metadata": "{}",
        **changes,
    }


def functional_record(**changes) -> dict:
    tests = [{"input": "[2, 7, 11]\n9", "output": "[0, 1]", "testtype": "functional"}]
    hidden = [{"input": "[3, 3]\n6", "output": "[0, 1]", "testtype": "functional"}]
    return {
        "question_title": "Two Sum",
        "question_content": "Return the two indices.",
        "platform": "leetcode",
        "question_id": "1",
        "contest_id": "weekly-1",
        "contest_date": "2025-06-01T00:00:00",
        "difficulty": "medium",
        "starter_code": "class Solution:\n    def twoSum(self, nums, target):\n        ",
        "public_test_cases": json.dumps(tests),
        "private_test_cases": json.dumps(hidden),
        "metadata": json.dumps({"func_name": "twoSum"}),
        **changes,
    }


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write(tmp_path, records: list) -> object:
    path = tmp_path / "release.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_both_test_types_become_problems_that_verify(tmp_path):
    problems, errors = import_livecodebench(write(tmp_path, [stdin_record(), functional_record()]))
    assert errors == []
    stdin, functional = problems
    assert stdin["id"] == "lcb-atcoder-abc999_a" and "entry_point" not in stdin["verifier"]
    assert [t.get("hidden", False) for t in stdin["verifier"]["tests"]] == [False, True, True]
    assert "Read the input from stdin" in stdin["prompt"]
    assert functional["verifier"]["entry_point"] == "Solution.twoSum"
    assert functional["verifier"]["tests"][0] == {"args": [[2, 7, 11], 9], "expected": [0, 1]}
    assert "class Solution:" in functional["prompt"]
    sums = build_verifier(problem_from_dict(stdin))
    assert sums.verify("```python\na, b = map(int, input().split())\nprint(a + b)\n```").passed
    assert not sums.verify("```python\nprint(5)\n```").passed
    pairs = build_verifier(problem_from_dict(functional))
    right = (
        "```python\nclass Solution:\n    def twoSum(self, nums, target):\n"
        "        seen = {}\n        for i, n in enumerate(nums):\n"
        "            if target - n in seen:\n                return [seen[target - n], i]\n"
        "            seen[n] = i\n```"
    )
    assert pairs.verify(right).passed
    assert not pairs.verify(right.replace("[seen[target - n], i]", "[i, i]")).passed


def test_a_crafted_pickle_runs_nothing_and_the_record_is_rejected(tmp_path):
    marker = tmp_path / "pwned"
    crafted = base64.b64encode(zlib.compress(pickle.dumps(Exploit(str(marker))))).decode()
    path = write(tmp_path, [stdin_record(private_test_cases=crafted), functional_record()])
    problems, errors = import_livecodebench(path)
    assert not marker.exists()
    assert [p["id"] for p in problems] == ["lcb-leetcode-1"]
    assert errors[0].where == f"{path}:1" and "refused to load" in errors[0].what
    pickle.loads(pickle.dumps(Exploit(str(marker))))  # the payload is real: plain pickle runs it
    assert marker.exists()


def test_filters_select_a_slice(tmp_path):
    path = write(tmp_path, [stdin_record(), functional_record()])
    assert [p["id"] for p in import_livecodebench(path, since="2025-05-01")[0]] == [
        "lcb-leetcode-1"
    ]
    assert [p["id"] for p in import_livecodebench(path, until="2025-03-01")[0]] == [
        "lcb-atcoder-abc999_a"
    ]
    assert [p["id"] for p in import_livecodebench(path, difficulty="medium")[0]] == [
        "lcb-leetcode-1"
    ]
    assert import_livecodebench(path, platform="codeforces")[0] == []


def test_malformed_records_are_named_and_the_others_kept_and_checked(tmp_path):
    path = write(
        tmp_path,
        [
            stdin_record(),
            "{oops",
            functional_record(metadata="{}"),
            stdin_record(private_test_cases="[]", question_id="b"),
        ],
    )
    out = tmp_path / "out"
    result = run_sdpo("import", "livecodebench", str(path), "--out", str(out), "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert len(doc["written"]) == 1 and len(doc["rejected"]) == 3
    assert f"({path}:2)" in result.stderr and "without metadata.func_name" in result.stderr
    assert "has no private tests" in result.stderr
    checked = run_sdpo("check", str(out), "--json", timeout=120)
    assert checked.returncode == 0, checked.stdout
    report = json.loads(checked.stdout)["problems"][0]
    assert report["ok"] and report["notes"] == [
        "no reference solution: whether the tests can be passed is unchecked"
    ]
