"""`arithmetic` verifier: target puzzles such as countdown and the 24 game.

The attempt's final expression (extracted like an answer) must use each given number
exactly once (or at most once with `use_all: false`), only the allowed operators and
parentheses, and reach the target in exact rational arithmetic. Feedback names the value
reached and the miss, the numbers missing or extra, or the parse error. Runs no code:
the expression is parsed with `ast` and evaluated on Fractions. Its length, the digits
of each number and the nesting depth are bounded before evaluation, so a huge product
or a thousands-term sum is a parse-error verdict, not a crash or a stall.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from fractions import Fraction

from ..problem import Problem
from . import base
from .base import Verdict, Verifier
from .extraction import METHODS, extract, missing_answer

OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
SYMBOLS = {"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-"}
MAX_EXPRESSION_CHARS = 300
MAX_DIGITS = 12
MAX_DEPTH = 40


class ExpressionError(ValueError):
    pass


def evaluate(node: ast.AST, allowed: str, used: list[int]) -> Fraction:
    if isinstance(node, ast.Expression):
        return evaluate(node.body, allowed, used)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        symbol = OPERATORS[type(node.op)]
        if symbol not in allowed:
            raise ExpressionError(
                f"operator {symbol!r} is not allowed (allowed: {' '.join(allowed)})"
            )
        left, right = evaluate(node.left, allowed, used), evaluate(node.right, allowed, used)
        if symbol == "/":
            if right == 0:
                raise ExpressionError("division by zero")
            return left / right
        return {"+": left + right, "-": left - right, "*": left * right}[symbol]
    if isinstance(node, ast.BinOp):
        raise ExpressionError(
            f"operator {type(node.op).__name__} is not allowed (allowed: {' '.join(allowed)})"
        )
    raise ExpressionError("only whole numbers, the allowed operators and parentheses may appear")


def parse(expression: str, allowed: str) -> tuple[Fraction, list[int]]:
    for symbol, replacement in SYMBOLS.items():
        expression = expression.replace(symbol, replacement)
    expression = expression.split("=")[0].strip().rstrip(".")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"the expression is {len(expression)} characters long; "
            f"at most {MAX_EXPRESSION_CHARS} are accepted"
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(
            f"could not parse {expression[:120]!r} as an arithmetic expression"
        ) from None
    _check_size(tree)
    used: list[int] = []
    return evaluate(tree, allowed, used), used


def _check_size(tree: ast.AST) -> None:
    """Refuse numbers longer than MAX_DIGITS and nesting deeper than MAX_DEPTH (an
    explicit stack: no recursion on hostile input)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and len(str(abs(node.value))) > MAX_DIGITS
        ):
            raise ExpressionError(f"numbers may have at most {MAX_DIGITS} digits")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def approximate(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def show(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value} (= {approximate(value):.4g})"
    )


class ArithmeticVerifier(Verifier):
    kind = "arithmetic"

    def __init__(self, problem: Problem):
        super().__init__(problem)
        self.reject_unknown_options({"numbers", "target", "operators", "use_all", "extract"})
        self.numbers = self.option("numbers", list)
        if not self.numbers or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in self.numbers
        ):
            raise self.option_error("numbers", "must be a non-empty list of whole numbers")
        self.target = Fraction(self.option("target", int))
        self.allowed = self.option("operators", str, "+-*/")
        if not self.allowed or set(self.allowed) - set("+-*/"):
            raise self.option_error("operators", "must be made of + - * /")
        self.use_all = self.option("use_all", bool, True)
        self.method = self.option("extract", str, "answer_line", choices=METHODS)

    def trivial_attempts(self) -> dict[str, str]:
        wrong = " + ".join(map(str, self.numbers))
        if parse(wrong, "+")[0] == self.target:
            wrong = " * ".join(map(str, self.numbers))
        return {"empty text": "", "wrong constant answer": self._formatted(wrong)}

    def _formatted(self, expression: str) -> str:
        return {
            "tag": f"<answer>{expression}</answer>",
            "boxed": f"\\boxed{{{expression}}}",
            "answer_line": f"Answer: {expression}",
            "last_line": expression,
        }[self.method]

    def check(self, attempt: str) -> Verdict:
        found = extract(attempt, self.method)
        if not found:
            return missing_answer(self.method, "expression")
        try:
            value, used = parse(found, self.allowed)
        except ExpressionError as exc:
            return Verdict(
                False,
                0.0,
                f"Incorrect Format\nYour expression {found[:200]!r}: {exc}.",
                base.PARSE_ERROR,
                {"extracted": found},
            )
        problems = self._number_problems(used)
        details = {"extracted": found, "value": str(value), "numbers_used": used}
        if value == self.target and not problems:
            return Verdict(True, 1.0, f"Correct: {found} = {show(value)}.", None, details)
        lines = [
            "Wrong Answer",
            f"Your expression {found[:200]!r} evaluates to {show(value)}; "
            f"the target is {show(self.target)}"
            + (f" (off by {show(abs(value - self.target))})." if value != self.target else "."),
        ]
        lines += problems
        closeness = 1.0 / (1.0 + approximate(abs(value - self.target)))
        return Verdict(
            False,
            0.5 * closeness if not problems else 0.0,
            "\n".join(lines),
            base.WRONG_ANSWER,
            details,
        )

    def _number_problems(self, used: list[int]) -> list[str]:
        given, taken = Counter(self.numbers), Counter(used)
        extra = sorted((taken - given).elements())
        missing = sorted((given - taken).elements())
        problems = []
        if extra:
            problems.append(
                f"Numbers used that are not available (or used too often): "
                f"{', '.join(map(str, extra))}. Each given number may be used once."
            )
        if missing and self.use_all:
            problems.append(
                f"Numbers not used: {', '.join(map(str, missing))}. "
                f"Every given number must be used exactly once."
            )
        return problems
