"""Formulas over trend series, such as `B / A` or `(A + B) * 100 / C`.

Series are named A, B, C... in the order of the spec. Only numbers, series letters, + - * /,
unary minus and parentheses are allowed; anything else is rejected before it runs. A division by
zero or a missing value gives no value (None) rather than an error or infinity.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Mapping

LETTERS = string.ascii_uppercase


def series_letter(index: int) -> str:
    return LETTERS[index]


def formula_problem(formula: str, series_count: int) -> str | None:
    """Why the formula cannot run with this many series, or None when it can."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        return f"formula {formula!r} does not parse at column {exc.offset or 0}"
    allowed = set(LETTERS[:series_count])
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in allowed:
                known = ", ".join(sorted(allowed))
                return f"formula uses {node.id!r} but the series are {known}"
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                return f"formula may only contain numbers, got {node.value!r}"
        elif not isinstance(
            node,
            ast.Expression
            | ast.BinOp
            | ast.UnaryOp
            | ast.Add
            | ast.Sub
            | ast.Mult
            | ast.Div
            | ast.USub
            | ast.UAdd
            | ast.Load,
        ):
            return f"formula may only use + - * / and parentheses, not {type(node).__name__}"
    return None


def evaluate(formula: str, values: Mapping[str, float | None]) -> float | None:
    """Value of a (validated) formula for one bucket."""
    return _eval(ast.parse(formula, mode="eval").body, values)


def _eval(node: ast.expr, values: Mapping[str, float | None]) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values.get(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return left / right if right != 0 else None
    raise ValueError(f"unsupported formula element {type(node).__name__}")
