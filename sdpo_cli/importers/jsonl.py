"""`sdpo import jsonl`: answer-checked problems from a JSON Lines file.

Each line is one record; `prompt` and `answer` name its fields. A record becomes an
`answer` problem: the prompt plus the instruction to end with an "Answer:" line, the
expected answer, the comparison (normalized text or numeric), a reference solution in
that format (so `sdpo check` can run it), and the record's origin in metadata. A
malformed record is reported with its line number and skipped; the others are kept.
No torch, nothing is run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import ProblemError, UsageError
from ..problem import problem_from_dict
from ..verifiers.answer import parse_number
from ..verifiers.extraction import HOW_TO

COMPARES = ("normalized", "numeric")


def problem_id(stem: str, record: dict, id_field: str | None, line: int) -> str:
    if id_field and isinstance(record.get(id_field), (str, int)):
        raw = str(record[id_field])
    else:
        raw = f"{stem}-{line:05d}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")[:100] or f"record-{line}"


def record_problem(
    record: Any,
    line: int,
    source: Path,
    prompt: str,
    answer: str,
    compare: str,
    id_field: str | None,
) -> dict[str, Any]:
    """The problem for one record; ProblemError naming the line when it cannot be one."""
    where = f"{source}:{line}"
    if not isinstance(record, dict):
        raise ProblemError("the record is not a JSON object", where)
    text, expected = record.get(prompt), record.get(answer)
    if not isinstance(text, str) or not text.strip():
        raise ProblemError(f"field {prompt!r} is missing or not a non-empty string", where)
    if isinstance(expected, bool) or not isinstance(expected, (str, int, float)):
        raise ProblemError(f"field {answer!r} is missing or not a string or number", where)
    expected = str(expected).strip()
    if compare == "numeric" and parse_number(expected) is None:
        raise ProblemError(f"field {answer!r} = {expected[:40]!r} is not a number", where)
    data = {
        "id": problem_id(source.stem, record, id_field, line),
        "prompt": f"{text.strip()}\n\n{HOW_TO['answer_line']}",
        "verifier": {"kind": "answer", "expected": expected, "compare": compare},
        "reference": f"Answer: {expected}",
        "metadata": {"source": f"{source.name} line {line}", "difficulty": "unknown"},
    }
    problem_from_dict(data)  # the same validation as a problem file
    return data


def lines_of(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, "path:line", text) for each non-blank line of a JSON Lines file;
    a file that cannot be read is a usage error."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the file: {exc}", str(path)) from None
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield number, f"{path}:{number}", text


def parse_record(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError(f"not valid JSON: {exc.msg}", where) from None


def import_jsonl(
    path: Path, prompt: str, answer: str, compare: str = "normalized", id_field: str | None = None
) -> tuple[list[dict[str, Any]], list[ProblemError]]:
    """(problems, errors) from a JSONL file; every malformed record is one error."""
    if compare not in COMPARES:
        raise UsageError(f"--compare {compare!r} is not one of {', '.join(COMPARES)}")
    problems, errors, seen = [], [], set()
    for number, where, text in lines_of(path):
        try:
            record = parse_record(text, where)
            data = record_problem(record, number, Path(path), prompt, answer, compare, id_field)
        except ProblemError as exc:
            errors.append(exc)
            continue
        if data["id"] in seen:
            errors.append(ProblemError(f"id {data['id']!r} is given twice", where))
            continue
        seen.add(data["id"])
        problems.append(data)
    return problems, errors


def write_problems(problems: list[dict[str, Any]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for data in problems:
        path = out / f"{data['id']}.json"
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
