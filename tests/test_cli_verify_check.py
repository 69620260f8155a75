"""`sdpo verify` and `sdpo check` as a user runs them: exit codes, JSON, one-line errors."""

import json
import subprocess
import sys

from conftest import PROBLEMS, ROOT


def sdpo(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "sdpo_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_verify_pass_fail_and_json():
    good = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
    passed = sdpo(
        "verify", str(PROBLEMS / "reverse-string.json"), "--attempt", "-", "--json", stdin=good
    )
    assert passed.returncode == 0
    doc = json.loads(passed.stdout)
    assert (
        doc["schema_version"] == 1 and doc["passed"] is True and doc["problem"] == "reverse-string"
    )
    failed = sdpo(
        "verify", str(PROBLEMS / "reverse-string.json"), "--attempt", "-", stdin="no code"
    )
    assert failed.returncode == 1 and "Incorrect Format" in failed.stdout


def test_malformed_problem_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", "prompt": 5}')
    result = sdpo("verify", str(bad), "--attempt", "-", stdin="x")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: field 'prompt' = 5 must be a string ({bad})"
    assert "Traceback" not in result.stderr


def test_check_shipped_problems_and_a_broken_one(tmp_path):
    shipped = sdpo("check", str(PROBLEMS), "--json")
    assert shipped.returncode == 0, shipped.stdout
    doc = json.loads(shipped.stdout)
    assert doc["ok"] and len(doc["problems"]) >= 12 and doc["sandbox"]["mode"]
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "id": "b",
                "prompt": "p",
                "reference": "Answer: 2",
                "verifier": {"kind": "answer", "expected": "3"},
            }
        )
    )
    result = sdpo("check", str(broken), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["problems"][0]["failures"] == [
        "reference solution failed: Wrong Answer"
    ]


def test_check_flags_visible_tests_without_hidden(tmp_path):
    path = tmp_path / "nohidden.json"
    path.write_text(
        json.dumps(
            {
                "id": "n",
                "prompt": "p",
                "reference": "```python\ndef f(x):\n    return x\n```",
                "verifier": {
                    "kind": "python",
                    "entry_point": "f",
                    "tests": [{"args": [1], "expected": 1}],
                },
            }
        )
    )
    result = sdpo("check", str(path), "--json")
    assert result.returncode == 1 and "no hidden tests" in result.stdout
