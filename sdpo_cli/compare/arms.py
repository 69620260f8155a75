"""Arms of a comparison: a registered method with settings of its own.

A spec is a method name with optional overrides in brackets:
`sdpo`, `sdpo[lr=3e-4,teacher=frozen]`, `multiturn[batch=1]` (the paper's multi-turn,
one attempt per turn), `bestofk[temperature=0.7]`. Any setting of `sdpo solve` that a
run can differ in may be overridden (OVERRIDES; `lora_targets` takes module names joined
by `+`), and multi-turn arms take `context_tokens`. The spec, as written, labels the
arm in tables, plots and JSON. An unknown method or key, or a bad value, is a usage
error naming it (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..config import solve_config
from ..errors import UsageError
from ..methods.base import check_method_name

# override key -> (solve_config option, type)
OVERRIDES: dict[str, tuple[str, type]] = {
    "batch": ("batch", int),
    "temperature": ("temperature", float),
    "top_p": ("top_p", float),
    "max_new_tokens": ("max_new_tokens", int),
    "alpha": ("alpha", float),
    "topk": ("topk", int),
    "teacher": ("teacher", str),
    "teacher_rate": ("teacher_rate", float),
    "lr": ("learning_rate", float),
    "epochs": ("epochs", int),
    "hint": ("hint", str),
    "contrast": ("contrast", float),
    "contrast_gate": ("contrast_gate", float),
    "hybrid": ("hybrid", float),
    "repeat_weight": ("repeat_weight", float),
    "feedback_rounds": ("feedback_rounds", int),
    "lora_rank": ("lora_rank", int),
    "lora_alpha": ("lora_alpha", int),
    "lora_targets": ("lora_targets", str),
}
METHOD_OPTIONS: dict[str, dict[str, type]] = {
    "multiturn": {"context_tokens": int},
    "multiturn-chat": {"context_tokens": int},
}
SPEC = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*(?:\[(.*)\])?\s*$")


@dataclass(frozen=True)
class Arm:
    label: str
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    """Overridden `solve_config` options."""
    options: dict[str, Any] = field(default_factory=dict)
    """Overridden options of the method itself."""


def split_specs(text: str) -> list[str]:
    """Comma-separated specs; commas inside brackets belong to a spec."""
    specs, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            specs.append(current)
            current = ""
        else:
            current += char
    specs.append(current)
    return [s.strip() for s in specs if s.strip()]


def parse_arm(spec: str) -> Arm:
    match = SPEC.match(spec)
    if match is None:
        raise UsageError(f"arm {spec!r} is not of the form method[key=value,...]")
    method, body = check_method_name(match.group(1)), match.group(2)
    settings: dict[str, Any] = {}
    options: dict[str, Any] = {}
    known = {**OVERRIDES, **{k: (k, t) for k, t in METHOD_OPTIONS.get(method, {}).items()}}
    for item in [p.strip() for p in (body or "").split(",") if p.strip()]:
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if key not in known or not value:
            raise UsageError(
                f"arm {spec!r}: {item!r} is not a setting it can override",
                hint=f"keys: {', '.join(sorted(known))}",
            )
        name, kind = known[key]
        try:
            parsed = kind(value.replace("+", ",") if key == "lora_targets" else value)
        except ValueError:
            raise UsageError(f"arm {spec!r}: {key} = {value!r} is not a {kind.__name__}") from None
        (options if key in METHOD_OPTIONS.get(method, {}) else settings)[name] = parsed
    solve_config(**settings)  # validates every value, naming the option
    return Arm(spec.strip(), method, settings, options)


def parse_arms(text: str) -> list[Arm]:
    arms = [parse_arm(spec) for spec in split_specs(text)]
    labels = [a.label for a in arms]
    duplicate = next((label for label in labels if labels.count(label) > 1), None)
    if duplicate:
        raise UsageError(f"arm {duplicate!r} is given twice")
    return arms
