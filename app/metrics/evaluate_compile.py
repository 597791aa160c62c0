"""Compiling a parsed PromQL query into its evaluation plan (``app.metrics.evaluate_plan``): the
supported subset, and a BadUserInput naming anything else."""

from __future__ import annotations

from datetime import timedelta

from promql_parser import (
    AggregateExpr,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
)

from app.errors import BadUserInput
from app.metrics.evaluate_plan import (
    ARITHMETIC,
    COMPARISONS,
    Aggregate,
    NegScalar,
    NegVector,
    Number,
    Rate,
    ScalarBinary,
    ScalarPlan,
    Select,
    VectorPlan,
    VectorScalarBinary,
)
from app.metrics.promql import Selector, compiled_regex, parse, selectors

AGGREGATIONS = frozenset({"sum", "avg", "max", "min", "count"})
_SUPPORTED = ("it answers vector selectors, rate() and increase(), sum, avg, max, min and count "
              "(by or without labels), and + - * / % or comparisons where one side is a number")


def compile_plan(expr_or_query: Expr | str) -> ScalarPlan | VectorPlan:
    """The plan of a query, given as text (parsed here) or already parsed."""
    expr = parse(expr_or_query) if isinstance(expr_or_query, str) else expr_or_query
    return _compile(expr)


def _compile(e: Expr) -> ScalarPlan | VectorPlan:
    if isinstance(e, ParenExpr):
        return _compile(e.expr)
    if isinstance(e, NumberLiteral):
        return Number(e.val)
    if isinstance(e, UnaryExpr):
        inner = _compile(e.expr)
        return NegScalar(inner) if isinstance(inner, ScalarPlan) else NegVector(inner)
    if isinstance(e, VectorSelector):
        return Select(_selector(e))
    if isinstance(e, Call):
        return _compile_call(e)
    if isinstance(e, AggregateExpr):
        return _compile_aggregate(e)
    if isinstance(e, BinaryExpr):
        return _compile_binary(e)
    if isinstance(e, MatrixSelector):
        raise _unsupported("range vector selectors outside rate() and increase()")
    if isinstance(e, SubqueryExpr):
        raise _unsupported("subqueries")
    if isinstance(e, StringLiteral):
        raise _unsupported("string literals")
    raise _unsupported(type(e).__name__)


def _compile_call(e: Call) -> VectorPlan:
    name = e.func.name
    if name not in ("rate", "increase"):
        raise _unsupported(f"the function {name}()")
    arg = e.args[0]
    while isinstance(arg, ParenExpr):
        arg = arg.expr
    if not isinstance(arg, MatrixSelector):
        raise _unsupported(f"{name}() of anything but a range vector selector")
    range_ms = arg.range // timedelta(milliseconds=1)
    return Rate(_selector(arg.vector_selector), range_ms, per_second=name == "rate")


def _compile_aggregate(e: AggregateExpr) -> VectorPlan:
    op = str(e.op)
    if op not in AGGREGATIONS:
        raise _unsupported(f"the aggregation {op}()")
    inner = _compile(e.expr)
    assert isinstance(inner, VectorPlan)  # the parser allows only instant vectors here
    if e.modifier is None:
        return Aggregate(op, (), False, inner)
    without = str(e.modifier.type) == "AggModifierType.Without"
    return Aggregate(op, list(e.modifier.labels), without, inner)


def _compile_binary(e: BinaryExpr) -> ScalarPlan | VectorPlan:
    op = str(e.op)
    if op not in ARITHMETIC and op not in COMPARISONS:
        raise _unsupported(f"the `{op}` operator")
    lhs, rhs = _compile(e.lhs), _compile(e.rhs)
    return_bool = e.modifier is not None and e.modifier.return_bool
    if isinstance(lhs, ScalarPlan) and isinstance(rhs, ScalarPlan):
        return ScalarBinary(op, lhs, rhs)
    if isinstance(lhs, VectorPlan) and isinstance(rhs, ScalarPlan):
        return VectorScalarBinary(op, lhs, rhs, swap=False, return_bool=return_bool)
    if isinstance(lhs, ScalarPlan) and isinstance(rhs, VectorPlan):
        return VectorScalarBinary(op, rhs, lhs, swap=True, return_bool=return_bool)
    raise _unsupported(f"binary operations between two vectors (`{op}`)")


def _selector(vs: VectorSelector) -> Selector:
    if vs.offset is not None:
        raise _unsupported("the offset modifier")
    if vs.at is not None:
        raise _unsupported("the @ modifier")
    selector = selectors(vs)[0]
    if len(selector.groups) != 1:
        raise _unsupported("`or` between label matchers")
    for matcher in selector.groups[0]:
        if matcher.op in ("=~", "!~"):
            compiled_regex(matcher.value)  # refuse what `re` cannot match as RE2 would, before any work
    return selector


def _unsupported(construct: str) -> BadUserInput:
    return BadUserInput.field("query", f"the embedded metrics store does not support {construct}; {_SUPPORTED}")
