"""Runs inside the sandbox: `python -I -S harness.py NONCE ENTRY_POINT`.

Loads solution.py, calls ENTRY_POINT on each argument list in calls.json and prints, per
call, a line `NONCE START i` before it and `NONCE RESULT i <json>` or `NONCE ERROR i
<json>` after it. It never sees expected values: the parent compares. If check.py exists
(a benchmark's own `check(candidate)`), it runs last, as call len(calls), in the
solution's namespace: RESULT true when it returns, ERROR when an assert fails.
Standard library only.
"""

import json
import os
import sys
import traceback

NONCE, ENTRY = sys.argv[1], sys.argv[2]


def emit(tag, index, payload=None):
    text = "" if payload is None else " " + json.dumps(payload)
    sys.stdout.write(f"\n{NONCE} {tag} {index}{text}\n")
    sys.stdout.flush()


def to_json(value):
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((to_json(v) for v in value), key=repr)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def describe(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "solution.py"]
    line = frames[-1] if frames else None
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:300],
        "line": line.lineno if line else None,
        "code": (line.line or "") if line else "",
    }


def resolve(namespace, entry):
    """The callable named `entry`: a function, or "Class.method" (LeetCode's `class
    Solution`), called on a fresh instance each time."""
    if "." not in entry:
        return namespace.get(entry)
    owner, method = entry.split(".", 1)
    cls = namespace.get(owner)
    if not isinstance(cls, type) or not callable(getattr(cls, method, None)):
        return None
    return lambda *args: getattr(cls(), method)(*args)


def main():
    calls = json.load(open("calls.json"))
    source = open("solution.py").read()
    namespace = {"__name__": "solution"}
    try:
        exec(compile(source, "solution.py", "exec"), namespace)
    except BaseException as exc:  # the attempt's module code failed: report it on call 0
        emit("ERROR", 0, {**describe(exc), "at_load": True})
        return
    function = resolve(namespace, ENTRY)
    if not callable(function):
        emit(
            "ERROR",
            0,
            {
                "type": "NameError",
                "message": f"no function named {ENTRY!r} is defined",
                "line": None,
                "code": "",
                "at_load": True,
            },
        )
        return
    for index, args in enumerate(calls):
        emit("START", index)
        try:
            value = function(*args)
        except BaseException as exc:
            emit("ERROR", index, describe(exc))
            continue
        try:
            emit("RESULT", index, to_json(value))
        except (TypeError, ValueError):
            emit("RESULT", index, repr(value))
    if os.path.exists("check.py"):
        run_check(len(calls), namespace, function)


def run_check(index, namespace, function):
    emit("START", index)
    scope = dict(namespace)
    try:
        exec(compile(open("check.py").read(), "check.py", "exec"), scope)
        scope["check"](function)
    except BaseException as exc:
        emit("ERROR", index, describe(exc))
        return
    emit("RESULT", index, True)


main()
