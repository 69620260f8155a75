"""`sdpo import livecodebench FILE.jsonl`: problems from LiveCodeBench's
`code_generation_lite` release files, which the user downloads once.

A record has question_title, question_content, platform, question_id, contest_id,
contest_date, starter_code, difficulty, public_test_cases, private_test_cases and
metadata. Public tests become visible tests, private tests hidden ones. Two test types:
`stdin` (input and output text: a program that reads stdin) and `functional` (input: one
JSON value per line, the arguments; output: the JSON result), calling the method
`metadata.func_name` of LeetCode's `class Solution` ("Solution.method" as the entry
point). The prompt follows LiveCodeBench's own instruction: complete the starter code,
or read stdin and write stdout. `--since`, `--until`, `--difficulty` and `--platform`
select a slice (the paper's is LiveCodeBench v6 by contest date).

Private tests are JSON, or base64 of zlib of a pickled JSON string. They are decoded
with an unpickler that accepts nothing but that string: a crafted file cannot make the
import run code (no class or function can be looked up while unpickling).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import re
import zlib
from pathlib import Path
from typing import Any

from ..errors import ProblemError, UsageError
from ..problem import problem_from_dict
from .jsonl import lines_of, parse_record

STDIN_INSTRUCTION = (
    "Read the input from stdin, solve the problem and write the answer to stdout (do not "
    "test directly on the sample inputs). Put the whole program in one ```python code block."
)
STARTER_INSTRUCTION = (
    "Use the starter code below and complete it; put the whole solution in one ```python "
    "code block."
)
DIFFICULTIES = ("easy", "medium", "hard")


class StringOnly(pickle.Unpickler):
    """Unpickles plain data only: any class or function lookup is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def private_tests(text: str) -> list:
    """The private tests of a record: JSON, else base64(zlib(pickle(JSON string)))."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        raw = zlib.decompress(base64.b64decode(text.encode("utf-8"), validate=True))
        value = StringOnly(io.BytesIO(raw)).load()
    except (binascii.Error, zlib.error, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"private_test_cases cannot be decoded: {exc}") from None
    if not isinstance(value, str):
        raise ValueError(f"private_test_cases hold a {type(value).__name__}, not a JSON string")
    return json.loads(value)


def convert_test(test: dict, functional: bool, hidden: bool) -> dict:
    if functional:
        args = [json.loads(line) for line in test["input"].split("\n") if line.strip()]
        converted = {"args": args, "expected": json.loads(test["output"])}
    else:
        converted = {"input": test["input"], "output": test["output"]}
    return {**converted, "hidden": True} if hidden else converted


def record_problem(record: Any, where: str) -> dict[str, Any]:
    """The problem for one record; ProblemError naming it when it cannot be one."""
    if not isinstance(record, dict):
        raise ProblemError("the record is not a JSON object", where)
    try:
        public = json.loads(record["public_test_cases"])
        private = private_tests(record["private_test_cases"])
        metadata = json.loads(record.get("metadata") or "{}")
        functional = bool(public or private) and (public or private)[0]["testtype"] == "functional"
        tests = [convert_test(t, functional, False) for t in public]
        tests += [convert_test(t, functional, True) for t in private]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ProblemError(f"malformed record: {exc}", where) from None
    if not any(t.get("hidden") for t in tests):
        raise ProblemError("the record has no private tests", where)
    content, starter = record.get("question_content", ""), record.get("starter_code") or ""
    verifier: dict[str, Any] = {"kind": "python", "tests": tests}
    if functional:
        if not metadata.get("func_name"):
            raise ProblemError("a functional record without metadata.func_name", where)
        verifier["entry_point"] = f"Solution.{metadata['func_name']}"
        prompt = f"{content}\n\n{STARTER_INSTRUCTION}\n\n```python\n{starter.rstrip()}\n```"
    else:
        prompt = f"{content}\n\n{STDIN_INSTRUCTION}"
    platform, question = str(record.get("platform", "")), str(record.get("question_id", ""))
    data = {
        "id": re.sub(r"[^A-Za-z0-9._-]+", "-", f"lcb-{platform}-{question}").strip("-")[:100],
        "prompt": prompt,
        "verifier": verifier,
        "metadata": {
            "source": "LiveCodeBench code_generation_lite",
            "title": record.get("question_title"),
            "platform": platform,
            "contest_id": record.get("contest_id"),
            "contest_date": record.get("contest_date"),
            "benchmark_difficulty": record.get("difficulty"),
            "difficulty": "unknown",
        },
    }
    problem_from_dict(data)
    return data


def selected(
    record: dict, since: str | None, until: str | None, difficulty: str | None, platform: str | None
) -> bool:
    date = str(record.get("contest_date", ""))[:10]
    return (
        (since is None or date >= since)
        and (until is None or date <= until)
        and (difficulty is None or record.get("difficulty") == difficulty)
        and (platform is None or record.get("platform") == platform)
    )


def import_livecodebench(
    path: Path,
    since: str | None = None,
    until: str | None = None,
    difficulty: str | None = None,
    platform: str | None = None,
) -> tuple[list[dict[str, Any]], list[ProblemError]]:
    """(problems, errors) for the records of a release file within the filters."""
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise UsageError(f"--difficulty {difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
    for name, value in (("--since", since), ("--until", until)):
        if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise UsageError(f"{name} {value!r} is not a date YYYY-MM-DD")
    problems, errors = [], []
    for _, where, text in lines_of(path):
        try:
            record = parse_record(text, where)
            if isinstance(record, dict) and not selected(
                record, since, until, difficulty, platform
            ):
                continue
            problems.append(record_problem(record, where))
        except ProblemError as exc:
            errors.append(exc)
    return problems, errors
